import * as tf from '@tensorflow/tfjs-core';
import { checkLinearShapes } from './linear';
import type { ModelTensors } from './upload-parameters';

/**
 * The MLP for inference: `relu(x W1 + b1) W2 + b2`, each layer one fused, untransposed product
 * (bias and ReLU inside the kernel).
 *
 * @param x batch (B x F)
 * @param p parameter tensors (W1 F x H, b1 H, W2 H x E, b2 E)
 * @returns embeddings (B x E)
 */
export function forward(x: tf.Tensor2D, p: ModelTensors): tf.Tensor2D {
  checkLinearShapes('forward', x, p.w1, p.b1);
  if (p.w2.rank !== 2 || p.w2.shape[0] !== p.w1.shape[1] || p.b2.rank !== 1 || p.b2.shape[0] !== p.w2.shape[1]) {
    throw new Error(`forward: expected w2 (H x E) and b2 (E); got w2 [${p.w2.shape}], b2 [${p.b2.shape}]`);
  }
  return tf.tidy(() => {
    const h = tf.fused.matMul({ a: x, b: p.w1, bias: p.b1, activation: 'relu' });
    return tf.fused.matMul({ a: h, b: p.w2, bias: p.b2 }) as tf.Tensor2D;
  });
}
