import { describe, expect, it } from 'vitest';
import type { LabelTable } from '@fl/evaluation';
import {
  accuracyTable,
  mergeSaved,
  resultTables,
  heldOutTable,
  seedText,
  softmaxHeadTable,
  summarise,
  type CaseRecord,
  type FederatedRecord,
} from '../../bench/hard-report';
import { scoreCase } from '../../bench/hard-scoring';

const truth: LabelTable = {
  source: 'q.labels.tsv',
  ids: ['q1', 'q2', 'q3', 'q4'],
  labels: ['a', 'a', 'b', 'n'],
};

describe('scoring a hard case', () => {
  it('leaves query cells of types no reference holds out of accuracy and counts them', () => {
    const s = scoreCase(['q1', 'q2', 'q3', 'q4'], ['a', 'b', 'b', 'a'], truth, ['a', 'b']);
    expect(s.accuracy).toBeCloseTo(2 / 3);
    expect(s.scoredCells).toBe(3);
    expect(s.excludedCells).toBe(1);
    expect(s.heldOut).toBeUndefined();
  });

  it('says where a held-out type went', () => {
    const s = scoreCase(['q1', 'q2', 'q3', 'q4'], ['a', 'b', 'b', 'a'], truth, ['b', 'n'], 'a');
    expect(s.accuracy).toBe(0.5); // b right, n wrong
    expect(s.heldOut).toEqual({ type: 'a', cells: 2, predicted: { a: 0.5, b: 0.5 } });
  });
});

const record = (name: string, lr: number): CaseRecord => ({
  case: name,
  kind: 'single-study',
  institutions: 1,
  referenceCells: 150,
  types: ['a', 'b', 'c'],
  genes: 100,
  queryCells: 4,
  lr: { accuracy: lr, macroF1: lr, scoredCells: 3, excludedCells: 1, seconds: 1 },
});
const run = (name: string, seed: number, accuracy: number): FederatedRecord => ({
  case: name,
  seed,
  accuracy,
  macroF1: accuracy,
  scoredCells: 3,
  excludedCells: 1,
  trainingSeconds: 1,
});

describe('the hard-case tables', () => {
  it('gives the median, range, spread and gap to logistic regression per case', () => {
    const runs = [run('x', 1, 0.66), run('x', 2, 0.8), run('x', 3, 0.96), run('y', 1, 0.9)];
    const [x, y] = summarise([record('x', 0.95), record('y', 0.9)], runs);
    expect(x).toMatchObject({ seeds: [1, 2, 3], median: 0.8, min: 0.66, max: 0.96, lr: 0.95 });
    expect(x.spread).toBeCloseTo(0.3);
    expect(x.gap).toBeCloseTo(-0.15);
    expect(y.gap).toBe(0);
    const table = accuracyTable([x, y]);
    expect(table).toContain(
      '| x | published | 150 | 3 | 3 (1) | 1-3 | 0.800 | 0.660-0.960 | 30.0 | 0.950 | — | — | -15.0 | — |',
    );
    expect(table).toContain(
      '| y | published | 150 | 3 | 3 (1) | 1 | 0.900 | 0.900-0.900 | 0.0 | 0.900 | — | — | +0.0 | — |',
    );
  });

  it('gives the gap to the standardised logistic regression too, when it ran', () => {
    const withStd: CaseRecord = {
      ...record('x', 0.95),
      lrStd: { accuracy: 0.85, macroF1: 0.85, scoredCells: 3, excludedCells: 1, seconds: 1 },
    };
    const [x] = summarise([withStd], [run('x', 1, 0.9)]);
    expect(x.lrStd).toBe(0.85);
    expect(x.gapStd).toBeCloseTo(0.05);
    expect(accuracyTable([x])).toContain('| 0.950 | 0.850 | — | -5.0 | +5.0 |');
  });

  it('gives each preset of a case its own row against the same baselines', () => {
    const runs = [run('x', 1, 0.9), run('x', 2, 0.92), { ...run('x', 1, 0.97), preset: 'ensemble' }];
    const rows = summarise([record('x', 0.95)], runs);
    expect(rows.map((r) => [r.preset, r.seeds, r.median])).toEqual([
      ['published', [1, 2], 0.91],
      ['ensemble', [1], 0.97],
    ]);
    expect(rows[1].gap).toBeCloseTo(0.02);
  });

  it('summarises the held-out cells by median fraction over seeds', () => {
    const held = (seed: number, predicted: Record<string, number>): FederatedRecord => ({
      ...run('p:without-a', seed, 0.9),
      heldOut: { type: 'a', cells: 10, predicted },
    });
    const table = heldOutTable([held(1, { b: 0.8, c: 0.2 }), held(2, { b: 0.6, c: 0.4 }), held(3, { c: 1 })]);
    // Runs saved before novel-type scoring existed show dashes for it.
    expect(table).toContain(
      '| p:without-a | published | a | 10 | 1-3 | 0.900 (0.900-0.900) | — (—) | — / — | — | — | b 0.60, c 0.40 |',
    );
  });

  it('gives the median AUROC (and the worst), the automatic rule and the bound over seeds', () => {
    const scored = (
      seed: number,
      auroc: number,
      autoNovel: number,
      oracle: number,
      alone?: number,
    ): FederatedRecord => ({
      ...run('p:without-a', seed, 0.9),
      heldOut: { type: 'a', cells: 10, predicted: { b: 1 } },
      novel: {
        novelCells: 10,
        knownCells: 90,
        auroc,
        auto: { novelRejected: autoNovel, knownRejected: 0.02 },
        oracleAt5: { threshold: 0.8, novelRejected: oracle, knownRejected: 0.05 },
        ...(alone !== undefined && { autoWithoutNovel: { knownRejected: alone } }),
      },
    });
    const table = heldOutTable([
      scored(1, 0.95, 0.6, 0.9, 0.03),
      scored(2, 0.85, 0.4, 0.7, 0.05),
      scored(3, 0.9, 0.5, 0.8), // scored before the known-cells-alone figure existed: left out
    ]);
    expect(table).toContain('| 0.900 (0.850) | 50% / 2% | 4% (5%) | 80% | b 1.00 |');
  });

  it('merges saved runs: each case once (its last record), every run kept', () => {
    const first = { date: 'd1', command: 'c1', cases: [record('x', 0.9)], runs: [run('x', 1, 0.8)] };
    const second = {
      date: 'd2',
      command: 'c2',
      cases: [record('x', 0.95), record('y', 0.9)],
      runs: [run('y', 1, 0.9)],
    };
    const merged = mergeSaved([first, second]);
    expect(merged.cases.map((c) => [c.case, c.lr!.accuracy])).toEqual([
      ['x', 0.95],
      ['y', 0.9],
    ]);
    expect(merged.runs).toHaveLength(2);
    expect(resultTables(merged.cases, merged.runs)).not.toContain('held-out type');
  });

  it('gives the softmax head probe its own table: median (min-max) per C beside the landmarks and LR', () => {
    const withHead = (seed: number, acc: number, h1: number, h2: number): FederatedRecord => ({
      ...run('x', seed, acc),
      softmaxHead: [
        { C: 0.01, accuracy: h1 },
        { C: 1, accuracy: h2 },
      ],
    });
    const runs = [withHead(1, 0.9, 0.8, 0.91), withHead(2, 0.92, 0.7, 0.93), withHead(3, 0.94, 0.75, 0.9)];
    const table = softmaxHeadTable([record('x', 0.95)], runs);
    expect(table).toContain(
      '| case | preset | seeds | landmarks, median | softmax head C 0.01, median (min-max) | softmax head C 1, median (min-max) | pooled LR |',
    );
    expect(table).toContain(
      '| x | published | 1-3 | 0.920 | 0.750 (0.700-0.800) | 0.910 (0.900-0.930) | 0.950 |',
    );
    expect(resultTables([record('x', 0.95)], runs)).toContain(table);
    expect(resultTables([record('x', 0.95)], [run('x', 1, 0.9)])).not.toContain('softmax head');
  });

  it('writes seed lists as ranges', () => {
    expect(seedText([3, 1, 2, 5, 7, 8])).toBe('1-3, 5, 7-8');
  });
});
