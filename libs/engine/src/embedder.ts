import * as tf from '@tensorflow/tfjs-core';
import { forward } from './forward';
import type { ModelShape } from './model-shape';
import { readTensorInto } from './read-tensor-into';
import { uploadParameters, type ModelTensors } from './upload-parameters';
import { validateShape } from './validate-shape';

/** Default number of cells embedded per batch. */
export const DEFAULT_EMBED_BATCH_SIZE = 4096;
/** Cap on one input batch (cells x F floats), 64 MB, so large F does not balloon the wasm heap. */
const MAX_BATCH_FLOATS = 16 * 1024 * 1024;

/**
 * Embeds cells with one fixed set of parameters, uploaded once (and, on wasm, packed once for
 * the fused products) for any number of `embed` calls. Copies `params` at construction: later
 * changes to the array are not seen. Call `dispose()` when done.
 */
export class Embedder {
  readonly shape: ModelShape;
  private tensors: ModelTensors | undefined;

  /** @param params flat parameters (`parameterLayout(shape).total`) */
  constructor(params: Float32Array, shape: ModelShape) {
    validateShape(shape, 'Embedder');
    this.shape = { ...shape };
    // wasm copies into its heap; the cpu backend would keep a reference to the caller's array.
    const owned = tf.getBackend() === 'wasm' ? params : Float32Array.from(params);
    this.tensors = uploadParameters(owned, shape);
  }

  /**
   * @param values cells x F, row-major, aligned to the model genes
   * @param nCells number of cells (rows of `values`)
   * @param batchSize cells per forward pass (upper bound; also capped to 64 MB of input)
   * @returns embeddings, nCells x E row-major
   */
  embed(values: Float32Array, nCells: number, batchSize = DEFAULT_EMBED_BATCH_SIZE): Float32Array {
    const tensors = this.tensors;
    if (tensors === undefined) throw new Error('Embedder.embed: the embedder has been disposed');
    const { inputSize: f, embeddingSize: e } = this.shape;
    if (!Number.isInteger(nCells) || nCells < 0) {
      throw new Error(`Embedder.embed: nCells must be a non-negative integer, got ${nCells}`);
    }
    if (!(values instanceof Float32Array) || values.length !== nCells * f) {
      throw new Error(`Embedder.embed: values must be a Float32Array of nCells (${nCells}) x F (${f}) entries`);
    }
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new Error(`Embedder.embed: batchSize must be a positive integer, got ${batchSize}`);
    }
    const rows = Math.max(1, Math.min(batchSize, Math.floor(MAX_BATCH_FLOATS / f)));
    const out = new Float32Array(nCells * e);
    for (let start = 0; start < nCells; start += rows) {
      const count = Math.min(rows, nCells - start);
      const x = tf.tensor2d(values.subarray(start * f, (start + count) * f), [count, f], 'float32');
      let y: tf.Tensor2D;
      try {
        y = forward(x, tensors);
      } finally {
        x.dispose();
      }
      try {
        readTensorInto(y, out, start * e);
      } finally {
        y.dispose();
      }
    }
    return out;
  }

  /** Frees the parameter tensors. Idempotent. */
  dispose(): void {
    if (this.tensors === undefined) return;
    const { w1, b1, w2, b2 } = this.tensors;
    tf.dispose([w1, b1, w2, b2]);
    this.tensors = undefined;
  }
}
