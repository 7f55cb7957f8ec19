import * as tf from '@tensorflow/tfjs-core';
import { parameterLayout, type ModelShape } from './model-shape';

/** The four parameter blocks as tensors: W1 F x H, b1 H, W2 H x E, b2 E. */
export interface ModelTensors {
  w1: tf.Tensor2D;
  b1: tf.Tensor1D;
  w2: tf.Tensor2D;
  b2: tf.Tensor1D;
}

/**
 * Uploads flat parameters (layout of `parameterLayout`) to four tensors. The blocks are views
 * of `params`, so the only copy is the backend's own (into the wasm heap); the caller owns
 * the tensors and must dispose them.
 *
 * @param params flat parameters, length `parameterLayout(shape).total`
 */
export function uploadParameters(params: Float32Array, shape: ModelShape): ModelTensors {
  const layout = parameterLayout(shape);
  if (!(params instanceof Float32Array) || params.length !== layout.total) {
    throw new Error(
      `uploadParameters: params must be a Float32Array of length ${layout.total}, got ${params?.length}`,
    );
  }
  const { inputSize: f, hiddenSize: h, embeddingSize: e } = shape;
  const block = (b: { offset: number; length: number }) => params.subarray(b.offset, b.offset + b.length);
  return {
    w1: tf.tensor2d(block(layout.w1), [f, h], 'float32'),
    b1: tf.tensor1d(block(layout.b1), 'float32'),
    w2: tf.tensor2d(block(layout.w2), [h, e], 'float32'),
    b2: tf.tensor1d(block(layout.b2), 'float32'),
  };
}
