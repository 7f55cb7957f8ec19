import { describe, expect, it } from 'vitest';
import { rowsWithoutType, selectCells, subsampleRows } from '../../bench/case-references';
import { HARD_CASES, parseSeeds, SCENARIOS, selectCases, slug } from '../../bench/hard-cases';

describe('the hard cases', () => {
  it('have unique, stable names and cover each kind the issue asks for', () => {
    const names = HARD_CASES.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(
      expect.arrayContaining([
        'pancreas:all-references',
        'pancreas:wang-only',
        'pancreas:baron_human-only',
        'pbmc:pbmc3k_10x_v1-only',
        'pbmc:pbmc_10x_3p_v2-only',
        'pbmc:pbmc_10x_5p_vdj-only',
        'cellline:celseq2_3cl-only',
        'cellline:celseq2_5cl_p3-only',
        'pbmc:20-per-type',
        'cellline:50-per-type',
        'pbmc:without-t-nk-cells',
      ]),
    );
    const single = HARD_CASES.filter((c) => c.kind === 'single-study');
    expect(single).toHaveLength(2 + 3 + 4);
    for (const c of single) expect(c.references).toHaveLength(1);
    const subsampled = HARD_CASES.filter((c) => c.kind === 'subsampled');
    expect(subsampled.filter((c) => c.references.length === 1)).toHaveLength(9 * 2);
    expect(names).toContain('cellline:celseq2_3cl-only-50-per-type');
    expect(subsampled.filter((c) => c.references.length > 1).map((c) => c.cellsPerType)).toEqual([
      20, 50, 20, 50, 20, 50,
    ]);
    // Every query type of every scenario is held out once, from all of its references.
    const loto = HARD_CASES.filter((c) => c.kind === 'leave-one-type-out');
    for (const [scenario, files] of Object.entries(SCENARIOS)) {
      const held = loto.filter((c) => c.scenario === scenario);
      expect(held.map((c) => c.heldOutType)).toEqual(files.queryTypes);
      for (const c of held) expect(c.references).toEqual(files.references);
    }
  });

  it('selects by name, kind, scenario or all, each case once', () => {
    expect(selectCases('pancreas:wang-only').map((c) => c.name)).toEqual(['pancreas:wang-only']);
    expect(selectCases('single-study,pancreas:wang-only')).toHaveLength(9);
    expect(selectCases('pancreas').every((c) => c.scenario === 'pancreas')).toBe(true);
    expect(selectCases('all')).toHaveLength(HARD_CASES.length);
    expect(() => selectCases('pancreas:nothing')).toThrow(/--cases: unknown case "pancreas:nothing"/);
  });

  it('parses seed lists and ranges', () => {
    expect(parseSeeds('1-10')).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(parseSeeds('1-3,7,2')).toEqual([1, 2, 3, 7]);
    expect(parseSeeds('none')).toEqual([]);
    expect(() => parseSeeds('3-1')).toThrow(/backwards/);
    expect(() => parseSeeds('one')).toThrow(/--seeds/);
  });

  it('slugs type names for case names', () => {
    expect(slug('T/NK cells')).toBe('t-nk-cells');
    expect(slug('HCC827')).toBe('hcc827');
  });
});

describe('cutting references', () => {
  const labels = ['a', 'b', 'a', 'c', 'a', 'b', 'a', 'a'];

  it('draws at most k cells of each type, the same draw for the same seed', () => {
    const rows = subsampleRows(labels, 2, 7);
    expect(rows).toEqual([...rows].sort((x, y) => x - y));
    const types = rows.map((r) => labels[r]);
    expect(types.filter((t) => t === 'a')).toHaveLength(2);
    expect(types.filter((t) => t === 'b')).toHaveLength(2);
    expect(types.filter((t) => t === 'c')).toHaveLength(1);
    expect(subsampleRows(labels, 2, 7)).toEqual(rows);
    // Over seeds, every 'a' cell is drawn sometimes (no fixed subset).
    const drawn = new Set(Array.from({ length: 40 }, (_, s) => subsampleRows(labels, 2, s)).flat());
    expect([...drawn].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('removes a type and keeps the rows of the others with their values', () => {
    const matrix = {
      source: 'r.csv',
      cellIds: ['c0', 'c1', 'c2'],
      genes: ['g1', 'g2'],
      values: Float32Array.from([1, 2, 3, 4, 5, 6]),
      labels: ['x', 'y', 'x'],
    };
    const cut = selectCells(matrix, rowsWithoutType(matrix.labels, 'y'));
    expect(cut.cellIds).toEqual(['c0', 'c2']);
    expect(cut.labels).toEqual(['x', 'x']);
    expect(Array.from(cut.values)).toEqual([1, 2, 5, 6]);
  });
});
