import * as tf from '@tensorflow/tfjs-core';
import { checkLinearShapes } from './linear';

/**
 * The model's first layer `h = relu(x W + b)` as one fused product, with a hand-written gradient
 * w.r.t. W and b only (the input is data, so dx = dy W^T, the most expensive product of the
 * backward pass, is never computed). No `matMul` transposes an operand:
 *   dz = dy * (h > 0),  dW = (x^T) dz,  db = sum_rows(dz).
 * (The ReLU derivative at 0 is 0, as in PyTorch.)
 *
 * @param x input batch (B x F); treated as a constant
 * @param w weights (F x H)
 * @param b bias (H)
 * @returns h (B x H); differentiable w.r.t. w and b
 */
export function inputLayer(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D {
  checkLinearShapes('inputLayer', x, w, b);
  const op = tf.customGrad((...args: unknown[]) => {
    const [wt, bt, save] = args as [tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
    const h = tf.fused.matMul({ a: x, b: wt, bias: bt, activation: 'relu' });
    save([h]);
    return {
      value: h,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const dz = tf.mul(dy, tf.step(saved[0])) as tf.Tensor2D;
        return [tf.matMul(tf.transpose(x), dz), tf.sum(dz, 0)];
      },
    };
  });
  return op(w, b) as tf.Tensor2D;
}
