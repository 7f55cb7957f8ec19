import type { SparseCounts } from '@fl/formats';

/** Builds a CSR SparseCounts from dense rows (cells x genes), storing only the non-zero values. */
export function sparseCounts(genes: string[], rows: number[][], source = 'test.mtx'): SparseCounts {
  const indptr = [0];
  const indices: number[] = [];
  const data: number[] = [];
  for (const row of rows) {
    if (row.length !== genes.length)
      throw new Error(`row has ${row.length} values for ${genes.length} genes`);
    row.forEach((v, j) => {
      if (v !== 0) {
        indices.push(j);
        data.push(v);
      }
    });
    indptr.push(indices.length);
  }
  return {
    source,
    cellIds: rows.map((_, i) => `cell${i + 1}`),
    genes,
    indptr: Float64Array.from(indptr),
    indices: Int32Array.from(indices),
    data: Float32Array.from(data),
  };
}

/** Row c of a SparseCounts as a dense array (for assertions). */
export function denseRow(m: SparseCounts, c: number): number[] {
  const row = new Array<number>(m.genes.length).fill(0);
  for (let k = m.indptr[c]; k < m.indptr[c + 1]; k++) row[m.indices[k]] += m.data[k];
  return row;
}
