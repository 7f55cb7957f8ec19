import type { SparseCounts } from '@fl/formats';
import { InputError } from '@fl/formats';
import type { DuplicateGenesMode } from './options';

export interface DuplicateGenesResult {
  counts: SparseCounts;
  /** Number of columns folded into an earlier column with the same (case-insensitive) name. */
  merged: number;
}

/**
 * Gene names are matched case-insensitively across the platform (ALGORITHM.md §2), so `Actb`
 * and `ACTB` in one file are the same gene. 'error' refuses such a file; 'sum' adds the columns
 * together under the first spelling, in first-appearance order.
 */
export function resolveDuplicateGenes(counts: SparseCounts, mode: DuplicateGenesMode): DuplicateGenesResult {
  const { target, genes, duplicates } = mapColumns(counts.genes);
  if (duplicates.length === 0) return { counts, merged: 0 };
  if (mode === 'error') {
    const shown = duplicates.slice(0, 5).map((d) => JSON.stringify(d));
    const more = duplicates.length > 5 ? ` and ${duplicates.length - 5} more` : '';
    throw new InputError(
      `${counts.source}: duplicate gene names (compared case-insensitively): ${shown.join(', ')}${more}. ` +
        'Remove them, or pass --sum-duplicate-genes to add their counts together.',
      counts.source,
    );
  }
  return {
    counts: { ...sumColumns(counts, target, genes.length), genes },
    merged: counts.genes.length - genes.length,
  };
}

/** For each old column, its new column; the new gene list; the duplicated names (first spelling). */
function mapColumns(names: readonly string[]): { target: Int32Array; genes: string[]; duplicates: string[] } {
  const firstIndex = new Map<string, number>();
  const target = new Int32Array(names.length);
  const genes: string[] = [];
  const duplicates = new Set<string>();
  names.forEach((name, j) => {
    const key = name.toLowerCase();
    const seen = firstIndex.get(key);
    if (seen === undefined) {
      firstIndex.set(key, genes.length);
      target[j] = genes.length;
      genes.push(name);
    } else {
      target[j] = seen;
      duplicates.add(genes[seen]);
    }
  });
  return { target, genes, duplicates: [...duplicates] };
}

/** Re-indexes every row through `target`, adding values that land on the same column (float64 sums). */
function sumColumns(counts: SparseCounts, target: Int32Array, nGenes: number): Omit<SparseCounts, 'genes'> {
  const nCells = counts.cellIds.length;
  const acc = new Float64Array(nGenes);
  const touched = new Uint8Array(nGenes);
  const indptr = new Float64Array(nCells + 1);
  // Merging never adds stored values, so the input's size is an upper bound.
  const indices = new Int32Array(counts.indices.length);
  const data = new Float32Array(counts.data.length);
  let nnz = 0;
  for (let c = 0; c < nCells; c++) {
    const cols: number[] = [];
    for (let k = counts.indptr[c]; k < counts.indptr[c + 1]; k++) {
      const j = target[counts.indices[k]];
      if (!touched[j]) {
        touched[j] = 1;
        cols.push(j);
      }
      acc[j] += counts.data[k];
    }
    cols.sort((a, b) => a - b);
    for (const j of cols) {
      indices[nnz] = j;
      data[nnz] = acc[j];
      nnz++;
      acc[j] = 0;
      touched[j] = 0;
    }
    indptr[c + 1] = nnz;
  }
  return {
    source: counts.source,
    cellIds: [...counts.cellIds],
    indptr,
    indices: indices.slice(0, nnz),
    data: data.slice(0, nnz),
  };
}
