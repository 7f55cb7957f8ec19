import { DEFAULT_EMBED_BATCH_SIZE, Embedder, type EmbedderOptions } from './embedder';
import type { ModelShape } from './model-shape';

/**
 * Embeds cells with the model: `relu(x W1 + b1) W2 + b2` for every row, in batches, freeing
 * every tensor it makes. To embed several matrices with the same parameters, an
 * {@link Embedder} uploads them only once. Sparse rows (fewer than `options.sparseDensity` of
 * their genes non-zero) go through the sparse kernel, the others through the dense product: see
 * {@link Embedder}; either way a row's embedding depends on that row only.
 *
 * @param params flat parameters (`parameterLayout(shape).total`)
 * @param shape model shape (F, H, E)
 * @param values cells x F, row-major, aligned to the model genes
 * @param nCells number of cells
 * @param batchSize cells per dense forward pass (upper bound; also capped to 64 MB of input)
 * @param options choice between the sparse and dense paths ({@link EmbedderOptions})
 * @returns embeddings, nCells x E row-major
 */
export function embed(
  params: Float32Array,
  shape: ModelShape,
  values: Float32Array,
  nCells: number,
  batchSize = DEFAULT_EMBED_BATCH_SIZE,
  options: EmbedderOptions = {},
): Float32Array {
  const embedder = new Embedder(params, shape, options);
  try {
    return embedder.embed(values, nCells, batchSize);
  } finally {
    embedder.dispose();
  }
}
