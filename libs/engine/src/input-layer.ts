import * as tf from '@tensorflow/tfjs-core';
import { checkChunks } from './check-chunks';
import { firstLayer } from './first-layer';

/**
 * The model's first layer `h = relu(x W + b)` over gene chunks, `x W = sum_c x_c W_c` (see
 * `geneChunkBounds`), with a hand-written gradient w.r.t. the W_c and b only: the input is
 * data, so dx = dy W^T, the most expensive product of the backward pass, is never computed.
 * No `matMul` transposes an operand (the wasm backend's fast product needs untransposed ones):
 *   dz = dy * (h > 0),  dW_c = (x_c^T) dz,  db = sum_rows(dz).
 * (The ReLU derivative at 0 is 0, as in PyTorch.)
 *
 * @param x input column chunks, x_c (B x F_c); treated as constants
 * @param w weight row chunks, W_c (F_c x H)
 * @param b bias (H)
 * @returns h (B x H); differentiable w.r.t. every W_c and b
 */
export function inputLayer(x: tf.Tensor2D[], w: tf.Tensor2D[], b: tf.Tensor1D): tf.Tensor2D {
  checkChunks('inputLayer', x, w, b);
  const op = tf.customGrad((...args: unknown[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const wt = args.slice(0, w.length) as tf.Tensor2D[];
    const bt = args[w.length] as tf.Tensor1D;
    const h = firstLayer(x, wt, bt);
    save([h]);
    return {
      value: h,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const dz = tf.mul(dy, tf.step(saved[0])) as tf.Tensor2D;
        return [...x.map((xc) => tf.matMul(tf.transpose(xc), dz)), tf.sum(dz, 0)];
      },
    };
  });
  return op(...w, b) as tf.Tensor2D;
}
