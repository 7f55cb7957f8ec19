import { describe, expect, it } from 'vitest';
import { preprocess } from './preprocess';
import { denseRow, sparseCounts } from './testing/sparse-counts';

describe(preprocess.name, () => {
  it('should filter cells, then normalise and log-transform the kept ones', () => {
    const counts = sparseCounts(
      ['MT-CO1', 'A', 'B'],
      [
        [0, 1, 3], // kept: 2 genes, 4 counts, no mito
        [1, 1, 0], // removed: half of its counts are mitochondrial
      ],
    );
    const { matrix, report } = preprocess(counts, { minGenes: 1, minCounts: 1, maxMitoFraction: 0.1 });
    expect(matrix.cellIds).toEqual(['cell1']);
    // 1 and 3 out of 4, scaled to 10,000: 2500 and 7500.
    expect(denseRow(matrix, 0)).toEqual([0, Math.fround(Math.log1p(2500)), Math.fround(Math.log1p(7500))]);
    expect(report).toMatchObject({
      cellsIn: 2,
      cellsOut: 1,
      removedByMito: 1,
      mitoGenes: 1,
      targetSum: 10_000,
    });
  });

  it('should use targetSum and sum duplicate genes when asked', () => {
    const counts = sparseCounts(['A', 'a', 'B'], [[1, 1, 2]]);
    const { matrix, report } = preprocess(counts, {
      minGenes: 0,
      minCounts: 0,
      maxMitoFraction: 1,
      targetSum: 4,
      duplicateGenes: 'sum',
    });
    // A = 1 + 1 = 2, B = 2; total 4 scaled to 4: ln 3 each.
    expect(matrix.genes).toEqual(['A', 'B']);
    expect(denseRow(matrix, 0)).toEqual([Math.fround(Math.log(3)), Math.fround(Math.log(3))]);
    expect(report.duplicateGenesMerged).toBe(1);
  });

  it('should reject a bad targetSum before filtering', () => {
    const counts = sparseCounts(['A'], [[1]]);
    expect(() => preprocess(counts, { targetSum: -5 })).toThrow(/option targetSum/);
  });
});
