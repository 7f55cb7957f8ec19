import * as tf from '@tensorflow/tfjs-core';
import { columnChunks } from './column-chunks';
import { forward } from './forward';
import { geneChunkBounds } from './gene-chunks';
import { parameterLayout, type ModelShape } from './model-shape';
import { readTensorInto } from './read-tensor-into';
import { scratchBuffer } from './scratch';
import { SparseEmbedKernel } from './sparse-embed-kernel';
import { disposeModelTensors, uploadParameters, type ModelTensors } from './upload-parameters';
import { validateShape } from './validate-shape';

/** Default number of cells embedded per batch. */
export const DEFAULT_EMBED_BATCH_SIZE = 4096;
/** Cap on one input batch (cells x F floats), 64 MB, so large F does not balloon the wasm heap. */
const MAX_BATCH_FLOATS = 16 * 1024 * 1024;

/**
 * Rows with fewer than this fraction of non-zero genes are embedded by the sparse kernel
 * (`sparse-embed-kernel.ts`), the others by the dense tfjs product. Measured with H = 500,
 * E = 20, one thread on the 2-core EPYC, wasm backend (engine bench; noisy VM, typical values):
 *
 * | non-zero genes | 5% | 10% | 30% | 50% | 70% |
 * |---|---|---|---|---|---|
 * | F = 2,000, kernel, cells/s | 161,000 | 90,000 | 42,000 | 24,000-28,000 | 22,000 |
 * | F = 2,000, dense tfjs | 16,500 | 16,300 | 16,900 | 16,000 | 17,600 |
 * | F = 20,000, kernel | 10,500 | 7,900 | 3,400-3,900 | 2,500-2,700 | 1,350 |
 * | F = 20,000, dense tfjs | 1,600 | 1,700 | 1,650-1,700 | 1,000-1,750 | 1,300 |
 *
 * The kernel wins up to ~70% non-zero here (a native or GPU tfjs backend shifts that down);
 * 0.5 keeps every real scRNA-seq row (5-15% non-zero) on the kernel and leaves dense inputs
 * (imputed or scaled matrices) to tfjs.
 */
export const SPARSE_DENSITY_THRESHOLD = 0.5;

export interface EmbedderOptions {
  /**
   * A row whose fraction of non-zero genes is below this is embedded by the sparse kernel,
   * the others by the dense product (0: always dense; above 1: always the kernel where
   * WebAssembly SIMD runs). Default {@link SPARSE_DENSITY_THRESHOLD}. The paths may sum in
   * different orders, so a row's embedding can differ between them by float rounding:
   * embeddings that are compared with each other (landmarks and queries) should use the same
   * value. (On the wasm backend with W1 in a single gene chunk, e.g. F = 2,000 at H = 500, they
   * give the same bits: xnnpack also adds x_g W1[g, :] to b1 gene by gene, without fused
   * multiply-adds. With several chunks, or on the cpu backend, they differ in the last bits.)
   */
  sparseDensity?: number;
}

/**
 * Embeds cells with one fixed set of parameters for any number of `embed` calls. Copies
 * `params` at construction: later changes to the array are not seen. Call `dispose()` when
 * done.
 *
 * Each row takes one of two paths, chosen from the row alone (so a cell embeds to the same
 * bits whatever batch, thread or call it comes in):
 * - rows with fewer than `sparseDensity` x F non-zero genes: a WebAssembly SIMD kernel that
 *   visits only the non-zero genes (`SparseEmbedKernel`; W1 copied into its memory once);
 * - the others: the tfjs product `forward`, with W1 and each batch split into gene chunks
 *   (`geneChunkBounds`) so each slice of W1 stays in cache. Its parameter tensors are uploaded
 *   (and, on wasm, packed) at the first such row, or at construction where the kernel cannot
 *   run. With several chunks, or rows to gather, batches are gathered in thread-wide scratch
 *   buffers (`scratchBuffer`, up to 64 MB, kept for reuse).
 */
export class Embedder {
  readonly shape: ModelShape;
  private tensors: ModelTensors | undefined;
  private kernel: SparseEmbedKernel | undefined;
  private disposed = false;
  private readonly bounds: Int32Array;

  /** @param params flat parameters (`parameterLayout(shape).total`) */
  constructor(params: Float32Array, shape: ModelShape, options: EmbedderOptions = {}) {
    validateShape(shape, 'Embedder');
    this.shape = { ...shape };
    const f = shape.inputSize;
    const threshold = options.sparseDensity ?? SPARSE_DENSITY_THRESHOLD;
    if (typeof threshold !== 'number' || !(threshold >= 0)) {
      throw new Error(`Embedder: sparseDensity must be a number >= 0, got ${threshold}`);
    }
    // the largest nnz with nnz / F < threshold (-1: none), as that very float comparison
    let maxRowNnz = Math.min(f, Math.floor(threshold * f));
    while (maxRowNnz >= 0 && !(maxRowNnz / f < threshold)) maxRowNnz--;
    while (maxRowNnz < f && (maxRowNnz + 1) / f < threshold) maxRowNnz++;
    const total = parameterLayout(shape).total;
    if (!(params instanceof Float32Array) || params.length !== total) {
      throw new Error(`Embedder: params must be a Float32Array of length ${total}, got ${params?.length}`);
    }
    if (maxRowNnz >= 0) this.kernel = SparseEmbedKernel.create(params, shape, maxRowNnz);
    if (this.kernel === undefined) {
      // wasm copies into its heap; the cpu backend would keep a reference to the caller's array.
      const owned = tf.getBackend() === 'wasm' ? params : Float32Array.from(params);
      this.tensors = uploadParameters(owned, shape);
    }
    this.bounds = geneChunkBounds(shape.inputSize, shape.hiddenSize);
  }

  /**
   * @param values cells x F, row-major, aligned to the model genes
   * @param nCells number of cells (rows of `values`)
   * @param batchSize cells per dense forward pass (upper bound; also capped to 64 MB of input)
   * @returns embeddings, nCells x E row-major
   */
  embed(values: Float32Array, nCells: number, batchSize = DEFAULT_EMBED_BATCH_SIZE): Float32Array {
    if (this.disposed) throw new Error('Embedder.embed: the embedder has been disposed');
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
    const out = new Float32Array(nCells * e);
    const kernel = this.kernel;
    if (kernel === undefined) {
      this.embedDenseRange(values, 0, nCells, batchSize, out);
      return out;
    }
    // Sparse rows go to the kernel as they come; dense rows are collected into batches.
    const staged = new Int32Array(kernel.rowsPerCall);
    const denseCap = this.denseBatchRows(batchSize, nCells);
    let dense: Int32Array | undefined;
    let nDense = 0;
    const flushSparse = () => {
      const n = kernel.staged;
      const y = kernel.run();
      const stride = kernel.outStride;
      for (let i = 0; i < n; i++) {
        const src = i * stride;
        const dst = staged[i] * e;
        for (let k = 0; k < e; k++) out[dst + k] = y[src + k];
      }
    };
    for (let cell = 0; cell < nCells; cell++) {
      if (kernel.full) flushSparse();
      const slot = kernel.staged;
      if (kernel.stageRow(values, cell * f)) {
        staged[slot] = cell;
        continue;
      }
      dense ??= new Int32Array(denseCap);
      dense[nDense++] = cell;
      if (nDense === denseCap) {
        this.embedDenseRows(values, dense, nDense, out);
        nDense = 0;
      }
    }
    flushSparse();
    if (dense !== undefined && nDense > 0) this.embedDenseRows(values, dense, nDense, out);
    return out;
  }

  /** Frees the parameter tensors and the kernel. Idempotent. */
  dispose(): void {
    this.disposed = true;
    this.kernel?.release();
    this.kernel = undefined;
    if (this.tensors === undefined) return;
    disposeModelTensors(this.tensors);
    this.tensors = undefined;
  }

  /** Cells per dense forward pass. */
  private denseBatchRows(batchSize: number, nCells: number): number {
    const rows = Math.max(1, Math.min(batchSize, Math.floor(MAX_BATCH_FLOATS / this.shape.inputSize)));
    return Math.max(1, Math.min(rows, nCells));
  }

  /**
   * The parameter tensors of the dense path, uploaded at first use from the kernel's copy
   * (kept: `embed` may run inside a caller's `tf.tidy`, which must not dispose them).
   */
  private denseTensors(): ModelTensors {
    if (this.tensors === undefined) {
      // wasm copies into its heap, so a scratch buffer will do; the cpu backend keeps the array.
      const total = parameterLayout(this.shape).total;
      const into = tf.getBackend() === 'wasm' ? scratchBuffer('Embedder.params', total) : undefined;
      const t = uploadParameters(this.kernel!.parameters(into), this.shape);
      for (const x of [...t.w1, t.b1, t.w2, t.b2]) tf.keep(x);
      this.tensors = t;
    }
    return this.tensors;
  }

  /** Dense forward pass of rows [first, end) into out (rows x E at first x E). */
  private embedDenseRange(
    values: Float32Array,
    first: number,
    end: number,
    batchSize: number,
    out: Float32Array,
  ): void {
    const { inputSize: f, embeddingSize: e } = this.shape;
    const rows = this.denseBatchRows(batchSize, end - first);
    for (let start = first; start < end; start += rows) {
      const count = Math.min(rows, end - start);
      this.denseForwardInto(values.subarray(start * f, (start + count) * f), count, out, start * e);
    }
  }

  /** Dense forward pass of the rows listed in cells[0 .. n) into their places in out. */
  private embedDenseRows(values: Float32Array, cells: Int32Array, n: number, out: Float32Array): void {
    const { inputSize: f, embeddingSize: e } = this.shape;
    const first = cells[0];
    if (cells[n - 1] - first === n - 1) {
      // consecutive rows: no gather
      this.denseForwardInto(values.subarray(first * f, (first + n) * f), n, out, first * e);
      return;
    }
    const x = scratchBuffer('Embedder.rows', n * f);
    for (let i = 0; i < n; i++) x.set(values.subarray(cells[i] * f, (cells[i] + 1) * f), i * f);
    const y = scratchBuffer('Embedder.y', n * e);
    this.denseForwardInto(x, n, y, 0);
    for (let i = 0; i < n; i++) out.set(y.subarray(i * e, (i + 1) * e), cells[i] * e);
  }

  /** relu(x W1 + b1) W2 + b2 of `count` rows x (count x F) with tfjs, into out at `offset`. */
  private denseForwardInto(x: Float32Array, count: number, out: Float32Array, offset: number): void {
    const f = this.shape.inputSize;
    const tensors = this.denseTensors();
    const scratch = this.bounds.length > 2 ? scratchBuffer('Embedder.x', count * f) : undefined;
    const chunks = columnChunks(x, count, f, this.bounds, scratch);
    let y: tf.Tensor2D;
    try {
      y = forward(chunks, tensors);
    } finally {
      tf.dispose(chunks);
    }
    try {
      readTensorInto(y, out, offset);
    } finally {
      y.dispose();
    }
  }
}
