import type { SparseCounts } from '@fl/formats';

/** The rows whose `keep` flag is set, in their original order (new arrays; the input is untouched). */
export function selectCells(counts: SparseCounts, keep: Uint8Array): SparseCounts {
  const nCells = counts.cellIds.length;
  let nnz = 0;
  let kept = 0;
  for (let c = 0; c < nCells; c++) {
    if (keep[c]) {
      nnz += counts.indptr[c + 1] - counts.indptr[c];
      kept++;
    }
  }
  const indptr = new Float64Array(kept + 1);
  const indices = new Int32Array(nnz);
  const data = new Float32Array(nnz);
  const cellIds: string[] = [];
  let at = 0;
  for (let c = 0; c < nCells; c++) {
    if (!keep[c]) continue;
    const start = counts.indptr[c];
    const end = counts.indptr[c + 1];
    indices.set(counts.indices.subarray(start, end), at);
    data.set(counts.data.subarray(start, end), at);
    at += end - start;
    cellIds.push(counts.cellIds[c]);
    indptr[cellIds.length] = at;
  }
  return { source: counts.source, cellIds, genes: [...counts.genes], indptr, indices, data };
}
