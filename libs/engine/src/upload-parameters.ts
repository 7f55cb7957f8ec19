import * as tf from '@tensorflow/tfjs-core';
import { geneChunkBounds } from './gene-chunks';
import { parameterLayout, type ModelShape } from './model-shape';

/**
 * The four parameter blocks as tensors: W1 (F x H) as row slices of genes (see
 * `geneChunkBounds`; one slice for small F), b1 (H), W2 (H x E), b2 (E).
 */
export interface ModelTensors {
  w1: tf.Tensor2D[];
  b1: tf.Tensor1D;
  w2: tf.Tensor2D;
  b2: tf.Tensor1D;
}

/**
 * Uploads flat parameters (layout of `parameterLayout`) to tensors, W1 split into the gene
 * chunks of `geneChunkBounds(F, H)`. The blocks are views of `params`, so the only copy is the
 * backend's own (into the wasm heap; the cpu backend keeps a reference, so do not change
 * `params` while the tensors live). The caller owns the tensors (`disposeModelTensors`).
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
  const { inputSize: f, hiddenSize: h } = shape;
  const rows = params.subarray(layout.w1.offset, layout.w1.offset + layout.w1.length);
  return uploadWithW1Rows(params, shape, rows, geneChunkBounds(f, h));
}

/**
 * Like {@link uploadParameters} but W1 taken from `w1Rows` (rows x H, row-major: all of W1 or
 * a selection of its rows), cut at `bounds` (row boundaries, 0 .. rows).
 */
export function uploadWithW1Rows(
  params: Float32Array,
  shape: ModelShape,
  w1Rows: Float32Array,
  bounds: Int32Array,
): ModelTensors {
  const layout = parameterLayout(shape);
  const { hiddenSize: h, embeddingSize: e } = shape;
  const block = (b: { offset: number; length: number }) => params.subarray(b.offset, b.offset + b.length);
  const w1: tf.Tensor2D[] = [];
  for (let c = 0; c + 1 < bounds.length; c++) {
    const rows = bounds[c + 1] - bounds[c];
    w1.push(tf.tensor2d(w1Rows.subarray(bounds[c] * h, bounds[c + 1] * h), [rows, h], 'float32'));
  }
  return {
    w1,
    b1: tf.tensor1d(block(layout.b1), 'float32'),
    w2: tf.tensor2d(block(layout.w2), [h, e], 'float32'),
    b2: tf.tensor1d(block(layout.b2), 'float32'),
  };
}

/** Disposes every tensor of `t`. */
export function disposeModelTensors(t: ModelTensors): void {
  tf.dispose([...t.w1, t.b1, t.w2, t.b2]);
}
