import { describe, expect, it } from 'vitest';
import { InputError } from '@fl/formats';
import { evaluate } from './evaluate';
import type { LabelTable } from './label-table';

const table = (source: string, rows: [string, string][]): LabelTable => ({
  source,
  ids: rows.map((r) => r[0]),
  labels: rows.map((r) => r[1]),
});

// 10 cells of 3 types. A: c1-c4, B: c5-c7, C: c8-c10.
const TRUTH = table('truth.tsv', [
  ['c1', 'A'],
  ['c2', 'A'],
  ['c3', 'A'],
  ['c4', 'A'],
  ['c5', 'B'],
  ['c6', 'B'],
  ['c7', 'B'],
  ['c8', 'C'],
  ['c9', 'C'],
  ['c10', 'C'],
]);
// Wrong: c4 (A -> B), c7 (B -> unassigned), c9 (C -> A). Given in another order than the truth.
const PREDICTIONS = table('result.txt', [
  ['c10', 'C'],
  ['c1', 'A'],
  ['c2', 'A'],
  ['c3', 'A'],
  ['c4', 'B'],
  ['c5', 'B'],
  ['c6', 'B'],
  ['c7', 'unassigned'],
  ['c8', 'C'],
  ['c9', 'A'],
]);

describe(evaluate.name, () => {
  it('should compute accuracy, per-type precision/recall/F1 and macro-F1', () => {
    const r = evaluate(PREDICTIONS, TRUTH);
    // 7 of 10 right (c1 c2 c3 c5 c6 c8 c10).
    expect(r).toMatchObject({ nCells: 10, knownCells: 10, correct: 7, accuracy: 0.7, allCellsAccuracy: 0.7 });
    const [a, b, c] = r.perType;
    // A: TP 3; predicted A = c1 c2 c3 c9 (4); support 4 -> P 3/4, R 3/4, F1 3/4.
    expect(a).toMatchObject({ label: 'A', support: 4, predicted: 4 });
    expect(a.precision).toBeCloseTo(3 / 4, 12);
    expect(a.recall).toBeCloseTo(3 / 4, 12);
    expect(a.f1).toBeCloseTo(3 / 4, 12);
    // B: TP 2; predicted B = c4 c5 c6 (3); support 3 -> P 2/3, R 2/3, F1 2/3.
    expect(b).toMatchObject({ label: 'B', support: 3, predicted: 3 });
    expect(b.precision).toBeCloseTo(2 / 3, 12);
    expect(b.recall).toBeCloseTo(2 / 3, 12);
    expect(b.f1).toBeCloseTo(2 / 3, 12);
    // C: TP 2; predicted C = c8 c10 (2); support 3 -> P 1, R 2/3, F1 = 2 * (2/3) / (5/3) = 4/5.
    expect(c).toMatchObject({ label: 'C', support: 3, predicted: 2, precision: 1 });
    expect(c.recall).toBeCloseTo(2 / 3, 12);
    expect(c.f1).toBeCloseTo(4 / 5, 12);
    // Macro-F1 = (3/4 + 2/3 + 4/5) / 3 = (45 + 40 + 48) / 60 / 3 = 133 / 180.
    expect(r.macroF1).toBeCloseTo(133 / 180, 12);
  });

  it('should count unassigned cells and build the confusion matrix with unassigned last', () => {
    const r = evaluate(PREDICTIONS, TRUTH);
    expect(r.unassigned).toBe(1);
    expect(r.unassignedFraction).toBe(0.1);
    expect(r.confusion).toEqual({
      rows: ['A', 'B', 'C'],
      cols: ['A', 'B', 'C', 'unassigned'],
      novelRows: [],
      counts: [
        [3, 1, 0, 0],
        [0, 2, 0, 1],
        [1, 0, 2, 0],
      ],
    });
    expect(r).toMatchObject({
      predictionsSource: 'result.txt',
      truthSource: 'truth.tsv',
      referenceTypes: null,
    });
  });

  it('should give 0 precision and F1 to a true type never predicted, and ignore predicted-only labels in macro-F1', () => {
    // Truth: x1 A, x2 D. Predictions: x1 A, x2 E. D: TP 0, never predicted -> P 0 (0/0), R 0, F1 0 (0/0).
    const r = evaluate(
      new Map([
        ['x1', 'A'],
        ['x2', 'E'],
      ]),
      new Map([
        ['x1', 'A'],
        ['x2', 'D'],
      ]),
    );
    expect(r.perType).toEqual([
      { label: 'A', precision: 1, recall: 1, f1: 1, support: 1, predicted: 1 },
      { label: 'D', precision: 0, recall: 0, f1: 0, support: 1, predicted: 0 },
    ]);
    // E was predicted but is no true label: it has a column, not a term in macro-F1 = (1 + 0) / 2.
    expect(r.macroF1).toBe(0.5);
    expect(r.confusion.cols).toEqual(['A', 'D', 'E']);
    expect(r.confusion.counts).toEqual([
      [1, 0, 0],
      [0, 0, 1],
    ]);
  });

  it('should score novel-type cells apart when reference types are given', () => {
    // Known: A (k1 k2), B (k3 k4); novel: X (n1 n2). Right: k1 k2 k3; n1 unassigned.
    const truth = new Map([
      ['k1', 'A'],
      ['k2', 'A'],
      ['k3', 'B'],
      ['k4', 'B'],
      ['n1', 'X'],
      ['n2', 'X'],
    ]);
    const predictions = new Map([
      ['k1', 'A'],
      ['k2', 'A'],
      ['k3', 'B'],
      ['k4', 'unassigned'],
      ['n1', 'unassigned'],
      ['n2', 'B'],
    ]);
    const r = evaluate(predictions, truth, { referenceTypes: ['A', 'B', 'C'] });
    // Headline on the 4 known cells: 3 / 4.
    expect(r).toMatchObject({ nCells: 6, knownCells: 4, correct: 3, accuracy: 0.75 });
    // All cells: (3 known right + 1 novel unassigned) / 6.
    expect(r.allCellsAccuracy).toBeCloseTo(4 / 6, 12);
    expect(r).toMatchObject({ novelCells: 2, novelCorrectlyUnassigned: 1, unassigned: 2 });
    expect(r.novelTypes).toEqual([{ label: 'X', cells: 2, unassigned: 1 }]);
    // Known scope only: A P 2/2 R 2/2 F1 1; B P 1/1 (n2's B is outside the scope) R 1/2 F1 2/3.
    // C is a reference type absent from the truth: no term. Macro-F1 = (1 + 2/3) / 2 = 5/6.
    expect(r.perType.map((m) => m.label)).toEqual(['A', 'B']);
    expect(r.perType[1].f1).toBeCloseTo(2 / 3, 12);
    expect(r.macroF1).toBeCloseTo(5 / 6, 12);
    expect(r.confusion).toEqual({
      rows: ['A', 'B', 'X'],
      cols: ['A', 'B', 'unassigned'],
      novelRows: [2],
      counts: [
        [2, 0, 0],
        [0, 1, 1],
        [0, 1, 1],
      ],
    });
  });

  it('should report 0 with a warning when no cell has a reference type', () => {
    const r = evaluate(new Map([['n1', 'unassigned']]), new Map([['n1', 'X']]), { referenceTypes: ['A'] });
    expect(r).toMatchObject({ accuracy: 0, macroF1: 0, allCellsAccuracy: 1, novelCorrectlyUnassigned: 1 });
    expect(r.warnings[0]).toMatch(/no cell has a reference type/);
  });

  it('should compare trimmed labels case-sensitively and warn about case-only differences', () => {
    const r = evaluate(
      new Map([
        ['a', ' B cell '],
        ['b', 't cell'],
      ]),
      new Map([
        ['a', 'B cell'],
        ['b', 'T cell'],
      ]),
    );
    expect(r.correct).toBe(1);
    expect(r.warnings).toEqual([
      'predicted label "t cell" differs from true label "T cell" only by case; labels are compared case-sensitively.',
    ]);
  });

  it('should use a custom unassigned label', () => {
    const r = evaluate(new Map([['a', 'Unknown']]), new Map([['a', 'X']]), {
      unassignedLabel: 'Unknown',
      referenceTypes: [],
    });
    expect(r).toMatchObject({ unassigned: 1, novelCorrectlyUnassigned: 1, allCellsAccuracy: 1 });
    expect(r.confusion.cols).toEqual(['Unknown']);
  });

  it('should refuse predictions and truth that do not list the same cells, naming up to 5 ids', () => {
    const truth = table('truth.tsv', [
      ['a', 'X'],
      ...Array.from({ length: 7 }, (_, i): [string, string] => [`t${i}`, 'X']),
    ]);
    const predictions = table('result.txt', [
      ['a', 'X'],
      ['p1', 'X'],
    ]);
    expect(() => evaluate(predictions, truth)).toThrow(InputError);
    expect(() => evaluate(predictions, truth)).toThrow(
      /result\.txt.*truth\.tsv.*7 truth cells have no prediction \(e\.g\. "t0", "t1", "t2", "t3", "t4", …\); 1 predicted cells are not in the truth \(e\.g\. "p1"\)/,
    );
  });
});
