import * as tf from '@tensorflow/tfjs-core';

/**
 * A linear layer `y = x W + b` with a hand-written gradient in which no `matMul` transposes an
 * operand (the wasm backend's fast product runs only on untransposed operands):
 *   dx = dy (W^T),  dW = (x^T) dy,  db = sum_rows(dy).
 *
 * @param x batch x in (B x I)
 * @param w weights (I x O)
 * @param b bias (O)
 * @returns y (B x O); differentiable w.r.t. x, w and b
 */
export function linear(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D {
  checkLinearShapes('linear', x, w, b);
  return linearOp(x, w, b) as tf.Tensor2D;
}

const linearOp = tf.customGrad((...args: unknown[]) => {
  const [x, w, b, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
  save([x, w]);
  return {
    value: tf.add(tf.matMul(x, w), b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sx, sw] = saved as [tf.Tensor2D, tf.Tensor2D];
      const dy2 = dy as tf.Tensor2D;
      return [tf.matMul(dy2, tf.transpose(sw)), tf.matMul(tf.transpose(sx), dy2), tf.sum(dy2, 0)];
    },
  };
});

/** Throws (naming `fn`) unless x (B x I), w (I x O), b (O) fit together. */
function checkLinearShapes(fn: string, x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): void {
  if (
    x.rank !== 2 ||
    w.rank !== 2 ||
    b.rank !== 1 ||
    x.shape[1] !== w.shape[0] ||
    b.shape[0] !== w.shape[1]
  ) {
    throw new Error(
      `${fn}: expected x (B x I), w (I x O), b (O); got x [${x.shape}], w [${w.shape}], b [${b.shape}]`,
    );
  }
}
