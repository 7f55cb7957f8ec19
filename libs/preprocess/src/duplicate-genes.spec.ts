import { describe, expect, it } from 'vitest';
import { InputError } from '@fl/formats';
import { resolveDuplicateGenes } from './duplicate-genes';
import { denseRow, sparseCounts } from './testing/sparse-counts';

describe(resolveDuplicateGenes.name, () => {
  const genes = ['ACTB', 'CD3E', 'Actb', 'MT-CO1', 'actb', 'cd3e'];
  const counts = sparseCounts(genes, [
    [1, 2, 3, 4, 5, 6],
    [0, 0, 7, 0, 0, 0],
  ]);

  it('should return the input unchanged when there is no duplicate', () => {
    const unique = sparseCounts(['A', 'B'], [[1, 2]]);
    expect(resolveDuplicateGenes(unique, 'error')).toEqual({ counts: unique, merged: 0 });
  });

  it('should refuse duplicates by default, listing them and suggesting --sum-duplicate-genes', () => {
    expect(() => resolveDuplicateGenes(counts, 'error')).toThrow(InputError);
    expect(() => resolveDuplicateGenes(counts, 'error')).toThrow(
      /test\.mtx: duplicate gene names .*"ACTB", "CD3E"\..*--sum-duplicate-genes/,
    );
  });

  it('should list at most 5 duplicated names', () => {
    const many = Array.from({ length: 7 }, (_, i) => `G${i}`);
    const dup = sparseCounts([...many, ...many], [new Array<number>(14).fill(1)]);
    expect(() => resolveDuplicateGenes(dup, 'error')).toThrow(/"G0", "G1", "G2", "G3", "G4" and 2 more/);
  });

  it('should sum duplicate columns case-insensitively, keeping the first spelling and order', () => {
    const { counts: merged, merged: n } = resolveDuplicateGenes(counts, 'sum');
    expect(n).toBe(3);
    expect(merged.genes).toEqual(['ACTB', 'CD3E', 'MT-CO1']);
    // ACTB = 1 + 3 + 5, CD3E = 2 + 6, MT-CO1 = 4.
    expect(denseRow(merged, 0)).toEqual([9, 8, 4]);
    expect(denseRow(merged, 1)).toEqual([7, 0, 0]);
    expect(Array.from(merged.indices)).toEqual([0, 1, 2, 0]); // sorted, one entry per gene
    expect(Array.from(merged.indptr)).toEqual([0, 3, 4]);
    expect(merged.cellIds).toEqual(['cell1', 'cell2']);
  });
});
