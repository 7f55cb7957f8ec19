import type { SparseCounts } from '@fl/formats';
import { DEFAULT_TARGET_SUM, validateTargetSum } from './options';

/**
 * Scales each cell to `targetSum` total counts, then takes ln(1 + x) (ALGORITHM.md §1; scanpy's
 * `normalize_total` + `log1p`). Sums and scaling run in float64; the stored values are float32.
 * A cell with zero counts stays all zeros rather than becoming NaN. The sparsity pattern is
 * unchanged (ln(1 + 0) = 0); all arrays are new, the input is not modified.
 */
export function normalizeLog1p(counts: SparseCounts, targetSum: number = DEFAULT_TARGET_SUM): SparseCounts {
  validateTargetSum(targetSum);
  const data = new Float32Array(counts.data.length);
  const nCells = counts.cellIds.length;
  for (let c = 0; c < nCells; c++) {
    const start = counts.indptr[c];
    const end = counts.indptr[c + 1];
    let total = 0;
    for (let k = start; k < end; k++) total += counts.data[k];
    if (total === 0) continue;
    const scale = targetSum / total;
    for (let k = start; k < end; k++) data[k] = Math.log1p(counts.data[k] * scale);
  }
  return {
    source: counts.source,
    cellIds: [...counts.cellIds],
    genes: [...counts.genes],
    indptr: counts.indptr.slice(),
    indices: counts.indices.slice(),
    data,
  };
}
