import * as tf from '@tensorflow/tfjs-core';

/**
 * relu(sum_c x_c W_c + b), no gradient of its own: one fused product (bias and ReLU inside the
 * kernel) for a single chunk; otherwise the chunk products summed, then the ReLU.
 *
 * @param x input column chunks x_c (B x F_c)
 * @param w weight row chunks W_c (F_c x H)
 * @param b bias (H)
 * @returns h (B x H)
 */
export function firstLayer(x: tf.Tensor2D[], w: tf.Tensor2D[], b: tf.Tensor1D): tf.Tensor2D {
  if (x.length === 1)
    return tf.fused.matMul({ a: x[0], b: w[0], bias: b, activation: 'relu' }) as tf.Tensor2D;
  return tf.tidy(() => {
    const parts = x.map((xc, c) =>
      c === 0 ? tf.fused.matMul({ a: xc, b: w[c], bias: b }) : tf.matMul(xc, w[c]),
    );
    return tf.relu(tf.addN(parts)) as tf.Tensor2D;
  });
}
