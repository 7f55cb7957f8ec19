import * as tf from '@tensorflow/tfjs-core';
import { inputLayer } from './input-layer';
import { linear } from './linear';
import type { ModelTensors } from './upload-parameters';

/**
 * The MLP for training: `relu(x W1 + b1) W2 + b2`, built from the custom-gradient layers so the
 * backward pass has no transposed `matMul` and no gradient w.r.t. the input.
 *
 * @param x batch as gene (column) chunks matching `p.w1`: x_c (B x F_c)
 * @param p parameter tensors (W1 chunks F_c x H, b1 H, W2 H x E, b2 E)
 * @returns embeddings (B x E), differentiable w.r.t. all parameter tensors
 */
export function trainingForward(x: tf.Tensor2D[], p: ModelTensors): tf.Tensor2D {
  return linear(inputLayer(x, p.w1, p.b1), p.w2, p.b2);
}
