import * as tf from '@tensorflow/tfjs-core';
import { columnChunks } from './column-chunks';
import { forward } from './forward';
import { geneChunkBounds } from './gene-chunks';
import type { ModelShape } from './model-shape';
import { readTensorInto } from './read-tensor-into';
import { scratchBuffer } from './scratch';
import { disposeModelTensors, uploadParameters, type ModelTensors } from './upload-parameters';
import { validateShape } from './validate-shape';

/** Default number of cells embedded per batch. */
export const DEFAULT_EMBED_BATCH_SIZE = 4096;
/** Cap on one input batch (cells x F floats), 64 MB, so large F does not balloon the wasm heap. */
const MAX_BATCH_FLOATS = 16 * 1024 * 1024;

/**
 * Embeds cells with one fixed set of parameters, uploaded once (and, on wasm, packed once for
 * the products) for any number of `embed` calls. W1 and each batch are split into gene chunks
 * (`geneChunkBounds`) so each slice of W1 stays in cache during its product. Copies `params`
 * at construction: later changes to the array are not seen. Call `dispose()` when done.
 *
 * With several chunks, batches are gathered in a thread-wide scratch buffer (`scratchBuffer`,
 * up to 64 MB, kept for reuse).
 */
export class Embedder {
  readonly shape: ModelShape;
  private tensors: ModelTensors | undefined;
  private readonly bounds: Int32Array;

  /** @param params flat parameters (`parameterLayout(shape).total`) */
  constructor(params: Float32Array, shape: ModelShape) {
    validateShape(shape, 'Embedder');
    this.shape = { ...shape };
    // wasm copies into its heap; the cpu backend would keep a reference to the caller's array.
    const owned = tf.getBackend() === 'wasm' ? params : Float32Array.from(params);
    this.tensors = uploadParameters(owned, shape);
    this.bounds = geneChunkBounds(shape.inputSize, shape.hiddenSize);
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
      throw new Error(
        `Embedder.embed: values must be a Float32Array of nCells (${nCells}) x F (${f}) entries`,
      );
    }
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new Error(`Embedder.embed: batchSize must be a positive integer, got ${batchSize}`);
    }
    const rows = Math.max(1, Math.min(batchSize, Math.floor(MAX_BATCH_FLOATS / f)));
    const out = new Float32Array(nCells * e);
    for (let start = 0; start < nCells; start += rows) {
      const count = Math.min(rows, nCells - start);
      const scratch = this.bounds.length > 2 ? scratchBuffer('Embedder.x', count * f) : undefined;
      const x = columnChunks(values.subarray(start * f, (start + count) * f), count, f, this.bounds, scratch);
      let y: tf.Tensor2D;
      try {
        y = forward(x, tensors);
      } finally {
        tf.dispose(x);
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
    disposeModelTensors(this.tensors);
    this.tensors = undefined;
  }
}
