import { describe, expect, it } from 'vitest';
import type { LabelTable } from '@fl/evaluation';
import { novelDetection } from '../../bench/hard-scoring';

describe('novel-type detection of a leave-one-type-out run', () => {
  // 20 known cells of type a (confidence 0.90-0.99) and 5 novel cells of type n, labelled a.
  const ids = Array.from({ length: 25 }, (_, i) => `c${i}`);
  const truth: LabelTable = { source: 't.tsv', ids, labels: ids.map((_, i) => (i < 20 ? 'a' : 'n')) };
  const knownConf = Array.from({ length: 20 }, (_, i) => 0.9 + 0.005 * i);

  it('scores AUROC, the automatic rule and the best threshold at <= 5% known rejected', () => {
    const novelConf = [0.3, 0.4, 0.5, 0.9125, 0.2]; // one novel cell (0.9125) hides among the known
    const d = novelDetection(
      { ids, labels: ids.map(() => 'a'), confidence: [...knownConf, ...novelConf] },
      truth,
      ['a'],
    );
    expect(d.novelCells).toBe(5);
    expect(d.knownCells).toBe(20);
    // 0.9125 beats the known cells 0.900, 0.905 and 0.910: 3 of 100 pairs go the wrong way.
    expect(d.auroc).toBeCloseTo(97 / 100, 12);
    // 5% of 20 known = 1 cell may go: the threshold is the 2nd smallest known value, 0.905.
    expect(d.oracleAt5.threshold).toBeCloseTo(0.905, 12);
    expect(d.oracleAt5.knownRejected).toBeCloseTo(1 / 20, 12);
    expect(d.oracleAt5.novelRejected).toBeCloseTo(4 / 5, 12);
    // The automatic rule sees one type of 25 cells (too few for step 1): median - 3 robust sds
    // of their z is r 0.603, so the four low novel cells are its outliers.
    expect(d.auto.novelRejected).toBeCloseTo(4 / 5, 12);
    expect(d.auto.knownRejected).toBe(0);
    // On the 20 known cells alone (0.900-0.995, evenly spread) no cell is an outlier.
    expect(d.autoWithoutNovel).toEqual({ knownRejected: 0 });
  });

  it('refuses a cell without a true label', () => {
    expect(() => novelDetection({ ids: ['zz'], labels: ['a'], confidence: [0.5] }, truth, ['a'])).toThrow(
      /zz has no true label/,
    );
  });
});
