import { DEFAULT_EMBED_BATCH_SIZE, type Embedder, type ModelShape } from '@fl/engine';
import { alignRows, type GeneMapping } from './gene-space';

/**
 * Embeds rows [first, end) of a query in its own gene order, aligning one batch at a time,
 * so a large query is never copied whole. `out` receives (end - first) x E values.
 */
export function embedQueryRows(
  embedder: Embedder,
  shape: ModelShape,
  source: Float32Array,
  mapping: GeneMapping,
  first: number,
  end: number,
  out: Float32Array,
  batchSize = DEFAULT_EMBED_BATCH_SIZE,
): void {
  const f = shape.inputSize;
  const e = shape.embeddingSize;
  const batch = mapping.identity ? undefined : new Float32Array(Math.min(batchSize, end - first) * f);
  for (let b = first; b < end; b += batchSize) {
    const stop = Math.min(end, b + batchSize);
    let rows: Float32Array;
    if (batch === undefined) rows = source.subarray(b * f, stop * f);
    else {
      alignRows(source, mapping, b, stop, batch);
      rows = batch.subarray(0, (stop - b) * f);
    }
    out.set(embedder.embed(rows, stop - b), (b - first) * e);
  }
}
