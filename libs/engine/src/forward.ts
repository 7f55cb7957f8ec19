import * as tf from '@tensorflow/tfjs-core';
import { checkChunks } from './check-chunks';
import { firstLayer } from './first-layer';
import type { ModelTensors } from './upload-parameters';

/**
 * The MLP for inference: `relu(x W1 + b1) W2 + b2`, every product untransposed (bias and ReLU
 * fused into the kernel where possible).
 *
 * @param x batch as gene (column) chunks matching `p.w1`: x_c (B x F_c)
 * @param p parameter tensors (W1 chunks F_c x H, b1 H, W2 H x E, b2 E)
 * @returns embeddings (B x E)
 */
export function forward(x: tf.Tensor2D[], p: ModelTensors): tf.Tensor2D {
  checkChunks('forward', x, p.w1, p.b1);
  if (
    p.w2.rank !== 2 ||
    p.w2.shape[0] !== p.b1.shape[0] ||
    p.b2.rank !== 1 ||
    p.b2.shape[0] !== p.w2.shape[1]
  ) {
    throw new Error(`forward: expected w2 (H x E) and b2 (E); got w2 [${p.w2.shape}], b2 [${p.b2.shape}]`);
  }
  return tf.tidy(() => tf.fused.matMul({ a: firstLayer(x, p.w1, p.b1), b: p.w2, bias: p.b2 }) as tf.Tensor2D);
}
