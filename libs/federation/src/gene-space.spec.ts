import { describe, expect, it } from 'vitest';
import { InputError, type ExpressionMatrix } from '@fl/formats';
import { alignToGenes, buildGeneUnion } from './gene-space';

const matrix = (genes: string[], rows: number[][]): ExpressionMatrix => ({
  source: 'query.csv',
  cellIds: rows.map((_, i) => `c${i}`),
  genes,
  values: Float32Array.from(rows.flat()),
});

describe(buildGeneUnion.name, () => {
  it('should take the union case-insensitively in order of first appearance', () => {
    const sut = buildGeneUnion([
      ['CD3E', 'MS4A1'],
      ['ms4a1', 'LYZ', 'Cd3e'],
    ]);
    expect(sut).toEqual(['cd3e', 'ms4a1', 'lyz']);
  });

  it('should give the same order for the same institutions whatever their gene order inside', () => {
    expect(buildGeneUnion([['A', 'B'], ['C']])).toEqual(['a', 'b', 'c']);
    expect(buildGeneUnion([['B', 'A'], ['C']])).toEqual(['b', 'a', 'c']);
  });
});

describe(alignToGenes.name, () => {
  it('should zero-fill missing genes, drop unknown ones and report coverage', () => {
    const sut = alignToGenes(
      matrix(
        ['LYZ', 'XIST', 'cd3e'],
        [
          [1, 2, 3],
          [4, 5, 6],
        ],
      ),
      ['cd3e', 'ms4a1', 'lyz'],
    );
    // model order cd3e, ms4a1, lyz: cell 0 -> [3, 0, 1], cell 1 -> [6, 0, 4]; XIST dropped
    expect(Array.from(sut.values)).toEqual([3, 0, 1, 6, 0, 4]);
    expect(sut.coveredGenes).toBe(2);
    expect(sut.droppedGenes).toBe(1);
    expect(sut.nCells).toBe(2);
  });

  it('should refuse a matrix sharing no gene with the model, naming the file', () => {
    const act = () => alignToGenes(matrix(['ENSG01', 'ENSG02'], [[1, 2]]), ['cd3e', 'lyz']);
    expect(act).toThrow(InputError);
    expect(act).toThrow(/query\.csv: none of its 2 genes/);
  });
});
