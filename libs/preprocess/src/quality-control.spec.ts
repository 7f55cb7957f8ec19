import { describe, expect, it } from 'vitest';
import { InputError } from '@fl/formats';
import { qualityControl } from './quality-control';
import { denseRow, sparseCounts } from './testing/sparse-counts';

// Gene space for the boundary tests: two mitochondrial genes, then 700 ordinary ones.
const GENES = ['MT-CO1', 'mt-Nd1', ...Array.from({ length: 700 }, (_, i) => `G${i}`)];

/**
 * One cell with exactly `detected` genes > 0, `total` counts, `mito` of them in MT-CO1
 * (which then is one of the detected genes). Ordinary genes get 1 count each, the first the rest.
 */
function cell({ detected, total, mito = 0 }: { detected: number; total: number; mito?: number }): number[] {
  const row = new Array<number>(GENES.length).fill(0);
  let ordinary = detected;
  if (mito > 0) {
    row[0] = mito;
    ordinary--;
  }
  for (let g = 0; g < ordinary; g++) row[2 + g] = 1;
  row[2] += total - mito - ordinary;
  return row;
}

describe(qualityControl.name, () => {
  it('should remove a cell with exactly minGenes (500) detected genes and keep one with 501', () => {
    const counts = sparseCounts(GENES, [
      cell({ detected: 500, total: 3000 }),
      cell({ detected: 501, total: 3000 }),
    ]);
    const { kept, report } = qualityControl(counts);
    expect(kept.cellIds).toEqual(['cell2']);
    expect(report.removedByGenes).toBe(1);
    expect(report.removedByCounts).toBe(0);
  });

  it('should remove a cell with exactly minCounts (1500) total counts and keep one with 1501', () => {
    const counts = sparseCounts(GENES, [
      cell({ detected: 600, total: 1500 }),
      cell({ detected: 600, total: 1501 }),
    ]);
    const { kept, report } = qualityControl(counts);
    expect(kept.cellIds).toEqual(['cell2']);
    expect(report.removedByCounts).toBe(1);
    expect(report.removedByGenes).toBe(0);
  });

  it('should remove a cell with exactly 10% mitochondrial counts and keep one just below', () => {
    // 200 / 2000 = 0.10 exactly -> removed; 199 / 2000 = 0.0995 -> kept.
    const counts = sparseCounts(GENES, [
      cell({ detected: 600, total: 2000, mito: 200 }),
      cell({ detected: 600, total: 2000, mito: 199 }),
    ]);
    const { kept, report } = qualityControl(counts);
    expect(kept.cellIds).toEqual(['cell2']);
    expect(report.removedByMito).toBe(1);
  });

  it('should count a cell that fails two filters in both, and once in removed', () => {
    const counts = sparseCounts(GENES, [
      cell({ detected: 100, total: 100 }), // fails genes and counts
      cell({ detected: 600, total: 2000, mito: 1000 }), // fails mito only
      cell({ detected: 600, total: 2000 }), // passes
    ]);
    const { kept, report } = qualityControl(counts);
    expect(kept.cellIds).toEqual(['cell3']);
    expect(report).toMatchObject({
      cellsIn: 3,
      cellsOut: 1,
      removed: 2,
      removedByGenes: 1,
      removedByCounts: 1,
      removedByMito: 1,
      mitoGenes: 2, // MT-CO1 and mouse-style mt-Nd1
      warnings: [],
    });
  });

  it('should keep the kept cells values and gene list unchanged', () => {
    const counts = sparseCounts(GENES, [
      cell({ detected: 10, total: 10 }),
      cell({ detected: 600, total: 2000 }),
    ]);
    const { kept } = qualityControl(counts);
    expect(kept.genes).toEqual(GENES);
    expect(denseRow(kept, 0)).toEqual(cell({ detected: 600, total: 2000 }));
    expect(Array.from(kept.indptr)).toEqual([0, 600]);
  });

  it('should apply custom thresholds', () => {
    const counts = sparseCounts(
      ['A', 'MT-B'],
      [
        [5, 0],
        [5, 5],
      ],
    );
    // Cell 1: 1 gene, 5 counts, mito 0; cell 2: 2 genes, 10 counts, mito 0.5.
    const { kept } = qualityControl(counts, { minGenes: 0, minCounts: 4, maxMitoFraction: 0.6 });
    expect(kept.cellIds).toEqual(['cell1', 'cell2']);
    const strict = qualityControl(counts, { minGenes: 1, minCounts: 0, maxMitoFraction: 1 });
    expect(strict.kept.cellIds).toEqual(['cell2']);
  });

  it('should remove an all-zero cell without producing NaN', () => {
    const counts = sparseCounts(['A', 'MT-B'], [[0, 0]]);
    const { report } = qualityControl(counts, { minGenes: 0, minCounts: 0, maxMitoFraction: 1 });
    expect(report).toMatchObject({ cellsOut: 0, removedByCounts: 1, removedByMito: 0 });
    expect(report.warnings.join(' ')).toMatch(/every cell was removed/);
  });

  it('should warn when no gene is mitochondrial, hinting at Ensembl ids', () => {
    const counts = sparseCounts(['ENSG00000075624', 'ENSG00000111640'], [[1, 1]]);
    const { report } = qualityControl(counts, { minGenes: 0, minCounts: 0 });
    expect(report.mitoGenes).toBe(0);
    expect(report.warnings.join(' ')).toMatch(/no mitochondrial genes.*Ensembl/);
  });

  it('should warn when the values are not whole numbers', () => {
    const counts = sparseCounts(['A', 'MT-B'], [[1.5, 0.25]]);
    const { report } = qualityControl(counts, { minGenes: 0, minCounts: 0, maxMitoFraction: 1 });
    expect(report.warnings.join(' ')).toMatch(/2 stored values are not whole numbers/);
  });

  it('should reject negative counts with an InputError naming the file, cell and gene', () => {
    const counts = sparseCounts(['A', 'B'], [[1, -2]], 'raw/matrix.mtx');
    expect(() => qualityControl(counts)).toThrow(InputError);
    expect(() => qualityControl(counts)).toThrow(/raw\/matrix\.mtx.*-2.*"cell1".*"B"/);
  });

  it('should name the option when a threshold is invalid', () => {
    const counts = sparseCounts(['A'], [[1]]);
    expect(() => qualityControl(counts, { minGenes: -1 })).toThrow(/option minGenes must be a non-negative/);
    expect(() => qualityControl(counts, { minCounts: Number.NaN })).toThrow(/option minCounts/);
    expect(() => qualityControl(counts, { maxMitoFraction: 1.5 })).toThrow(
      /option maxMitoFraction .*\[0, 1\]/,
    );
    expect(() => qualityControl(counts, { maxMitoFraction: -0.1 })).toThrow(/option maxMitoFraction/);
  });

  it('should merge duplicate genes before counting detected genes when asked to sum', () => {
    // ACTB and actb are one gene: the cell has 2 detected genes after merging, not 3.
    const counts = sparseCounts(['ACTB', 'actb', 'CD3E'], [[1, 2, 3]]);
    const { kept, report } = qualityControl(counts, {
      duplicateGenes: 'sum',
      minGenes: 2,
      minCounts: 0,
      maxMitoFraction: 1,
    });
    expect(kept.cellIds).toEqual([]);
    expect(report).toMatchObject({ removedByGenes: 1, duplicateGenesMerged: 1 });
  });
});
