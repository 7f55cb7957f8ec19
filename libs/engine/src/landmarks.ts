import { groupCellsByType } from './group-cells-by-type';

/**
 * Per-type landmarks (ALGORITHM.md §6): the element-wise median of each type's embeddings, for
 * every type including singletons. An even count takes the mean of the two middle values, like
 * `numpy.median`. A type with no cells gets a row of NaN (never chosen by `assignCells`).
 *
 * @param embeddings nCells x E, row-major
 * @param embeddingSize E
 * @param labelCodes per cell, 0..nTypes-1 (nCells entries)
 * @param nTypes number of types
 * @returns nTypes x E, row-major
 */
export function computeLandmarks(
  embeddings: Float32Array,
  embeddingSize: number,
  labelCodes: Int32Array,
  nTypes: number,
): Float32Array {
  const e = embeddingSize;
  if (!Number.isInteger(e) || e < 1) {
    throw new Error(`computeLandmarks: embeddingSize must be a positive integer, got ${e}`);
  }
  if (embeddings.length !== labelCodes.length * e) {
    throw new Error(
      `computeLandmarks: embeddings has ${embeddings.length} entries; expected cells (${labelCodes.length}) x E (${e})`,
    );
  }
  const groups = groupCellsByType(labelCodes, nTypes, 'computeLandmarks');
  const landmarks = new Float32Array(nTypes * e);
  const largest = groups.reduce((max, g) => Math.max(max, g.length), 0);
  const column = new Float32Array(largest);
  for (let c = 0; c < nTypes; c++) {
    const cells = groups[c];
    const count = cells.length;
    for (let k = 0; k < e; k++) {
      if (count === 0) {
        landmarks[c * e + k] = NaN;
        continue;
      }
      for (let i = 0; i < count; i++) column[i] = embeddings[cells[i] * e + k];
      const sorted = column.subarray(0, count).sort(); // typed-array sort is numeric
      const mid = count >> 1;
      landmarks[c * e + k] = count % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
  }
  return landmarks;
}
