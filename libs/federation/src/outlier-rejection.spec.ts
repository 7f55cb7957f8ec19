import { describe, expect, it } from 'vitest';
import {
  fitNovelGroupByType,
  KNOWN_PRIOR_CELLS,
  NOVEL_PRIOR_CELLS,
  novelBoundary,
} from './novel-group-by-type';
import { AUTO_REJECT_K, autoRejection, NOVEL_GROUP_PROBABILITY, novelGroup } from './outlier-rejection';
import { fitTwoGroups, lowerGroupBoundary } from './two-groups';

describe('autoRejection (--reject-threshold auto)', () => {
  it('sets the threshold at median - 3 x 1.4826 x MAD of Fisher z, worked by hand', () => {
    // z = 1.0, 1.1, ..., 1.9 and -0.2: median 1.4; |z - 1.4| sorted 0, .1, .1, .2, .2, .3, ... -> MAD 0.3;
    // threshold z = 1.4 - 3 * 1.4826 * 0.3 = 0.06566.
    const z = [1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, -0.2];
    const r = z.map(Math.tanh);
    const { thresholds, rejected } = autoRejection(Array(11).fill('alpha'), r);
    expect(AUTO_REJECT_K).toBe(3);
    expect(thresholds.get('alpha')).toBeCloseTo(Math.tanh(1.4 - 3 * 1.4826 * 0.3), 10);
    expect([...rejected]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    // At k = 2 the threshold is z 0.51044: the same cells, the same outlier.
    const atTwo = autoRejection(Array(11).fill('alpha'), r, 2);
    expect(atTwo.thresholds.get('alpha')).toBeCloseTo(Math.tanh(1.4 - 2 * 1.4826 * 0.3), 10);
  });

  it('judges each predicted type against its own cells', () => {
    // Type a is tight around r = 0.95 with one cell at 0.80; type b is loose around 0.80.
    const aR = [0.95, 0.951, 0.949, 0.952, 0.948, 0.95, 0.953, 0.947, 0.95, 0.951, 0.8];
    const bR = [0.8, 0.7, 0.9, 0.75, 0.85, 0.78, 0.82, 0.72, 0.88, 0.8, 0.8];
    const labels = [...Array(11).fill('a'), ...Array(11).fill('b')];
    const { rejected, thresholds } = autoRejection(labels, [...aR, ...bR]);
    expect(rejected[10]).toBe(1); // 0.80 is an outlier among a's cells...
    expect([...rejected.subarray(11)].every((x) => x === 0)).toBe(true); // ...but ordinary among b's
    expect(thresholds.get('a')!).toBeGreaterThan(thresholds.get('b')!);
  });

  it('rejects a cluster of novel cells that joined a known type, keeping the known ones', () => {
    const known = Array.from({ length: 60 }, (_, i) => Math.tanh(1.6 + 0.1 * Math.sin(i)));
    const novel = Array.from({ length: 12 }, (_, i) => Math.tanh(0.6 + 0.05 * Math.cos(i)));
    const { rejected } = autoRejection(Array(72).fill('t'), [...known, ...novel]);
    expect(rejected.subarray(0, 60).reduce((a, b) => a + b, 0)).toBe(0);
    expect(rejected.subarray(60).reduce((a, b) => a + b, 0)).toBe(12);
  });

  it('judges a type given fewer than 10 cells by the whole query, worked by hand', () => {
    // 10 cells of `big` at z 1.0 ... 1.9, and `rare` with 2 cells at z 1.3 and -0.5. All 12
    // sorted: -0.5, 1.0, 1.1, 1.2, 1.3, 1.3, 1.4, ..., 1.9: median (1.3 + 1.4) / 2 = 1.35;
    // |z - 1.35| sorted .05, .05, .05, .15, .15, .25, .25, .35, .35, .45, .55, 1.85 -> MAD 0.25;
    // threshold z = 1.35 - 3 * 1.4826 * 0.25 = 0.23805.
    const z = [1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 1.3, -0.5];
    const labels = [...Array(10).fill('big'), 'rare', 'rare'];
    const { thresholds, rejected } = autoRejection(labels, z.map(Math.tanh));
    expect(thresholds.get('rare')).toBeCloseTo(Math.tanh(1.35 - 3 * 1.4826 * 0.25), 10);
    expect([...rejected.subarray(10)]).toEqual([0, 1]);
    // `big` is judged by its own ten cells (median 1.45, MAD 0.25).
    expect(thresholds.get('big')).toBeCloseTo(Math.tanh(1.45 - 3 * 1.4826 * 0.25), 10);
  });

  it('rejects nothing in a query of fewer than 10 cells, or where the cells have no spread', () => {
    const few = autoRejection(Array(9).fill('x'), [0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.1]);
    expect(few.thresholds.size).toBe(0);
    expect([...few.rejected].every((x) => x === 0)).toBe(true);
    const flat = autoRejection(Array(12).fill('y'), [...Array(11).fill(0.9), 0.1]);
    expect(flat.thresholds.size).toBe(0);
    expect(flat.rejected[11]).toBe(0);
  });

  it('refuses labels and confidences of different lengths', () => {
    expect(() => autoRejection(['a'], [0.1, 0.2])).toThrow(/1 labels but 2/);
  });

  describe('step 1: a group of cells no reference knows', () => {
    // Known cells around r = tanh(1.7) = 0.94, novel cells around tanh(0.6) = 0.54 (z spread 0.25
    // and 0.15, normal): the pancreas leave-one-type-out cases look like this.
    let seed = 11;
    const uniform = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) + 1) / (2 ** 32 + 2);
    const normal = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
    const draw = (n: number, centre: number, spread: number) =>
      Array.from({ length: n }, () => Math.tanh(centre + spread * normal()));
    const known = draw(300, 1.7, 0.25);
    const novel = draw(120, 0.6, 0.15);

    it('rejects the lower group, whatever type its cells were given, and says so', () => {
      const labels = [...known.map((_, i) => (i % 2 ? 'alpha' : 'beta')), ...novel.map(() => 'beta')];
      const confidence = [...known, ...novel];
      const auto = autoRejection(labels, confidence);
      const count = (from: number, to?: number) =>
        auto.rejected.subarray(from, to).reduce((a, b) => a + b, 0);
      expect(auto.novelGroup).toMatchObject({ cells: count(0) });
      expect(auto.novelGroup!.separation).toBeGreaterThan(3.6);
      expect(auto.novelGroup!.meanCorrelation[0]).toBeCloseTo(Math.tanh(0.6), 1);
      expect([...auto.thresholds.keys()]).toEqual(['alpha', 'beta']);
      // The thresholds are the per-type fit's boundaries at NOVEL_GROUP_PROBABILITY.
      const z = confidence.map(Math.atanh);
      const groups = fitTwoGroups(z);
      const split = lowerGroupBoundary(groups, 0.5);
      const fit = fitNovelGroupByType(labels, z, groups, KNOWN_PRIOR_CELLS, split, NOVEL_PRIOR_CELLS);
      fit.types.forEach((type, t) =>
        expect(auto.thresholds.get(type)).toBeCloseTo(
          Math.tanh(novelBoundary(fit, t, NOVEL_GROUP_PROBABILITY)),
          12,
        ),
      );
      // Normal draws overlap a little: about 2% of the novel cells kept, 0.1% of the known rejected.
      expect(count(300)).toBeGreaterThanOrEqual(114);
      expect(count(0, 300)).toBeLessThanOrEqual(2);
      for (let c = 0; c < labels.length; c++)
        expect(auto.rejected[c]).toBe(confidence[c] < auto.thresholds.get(labels[c])! ? 1 : 0);
    });

    it('judges each type against its own known cells: a looser known type keeps its tail', () => {
      // alpha's known cells tight (z 1.9, sd 0.12), delta's looser and lower (z 1.4, sd 0.2); the
      // novel cells (z 0.5) land on both. One query-wide cut at the same probability, as step 1
      // was first built, rejects over a third of delta's known cells; per type, about one.
      seed = 11;
      const alpha = draw(300, 1.9, 0.12);
      const delta = draw(60, 1.4, 0.2);
      const novelCells = draw(150, 0.5, 0.12);
      const labels = [
        ...alpha.map(() => 'alpha'),
        ...delta.map(() => 'delta'),
        ...novelCells.map((_, i) => (i % 3 ? 'delta' : 'alpha')),
      ];
      const confidence = [...alpha, ...delta, ...novelCells];
      const auto = autoRejection(labels, confidence);
      expect(auto.novelGroup).toBeDefined();
      const queryWide = Math.tanh(
        lowerGroupBoundary(fitTwoGroups(confidence.map(Math.atanh)), NOVEL_GROUP_PROBABILITY),
      );
      const rejectedOf = (from: number, to: number) =>
        auto.rejected.subarray(from, to).reduce((a, b) => a + b, 0);
      expect(delta.filter((r) => r < queryWide).length).toBeGreaterThanOrEqual(20);
      expect(rejectedOf(300, 360)).toBeLessThanOrEqual(2);
      expect(rejectedOf(0, 300)).toBe(0);
      expect(rejectedOf(360, 510)).toBe(150);
      expect(auto.thresholds.get('delta')!).toBeLessThan(auto.thresholds.get('alpha')!);
    });

    it('finds no group in a query of known cells only, and falls back to outliers per type', () => {
      expect(novelGroup(known)).toBeUndefined();
      const auto = autoRejection(
        known.map(() => 'alpha'),
        known,
      );
      expect(auto.novelGroup).toBeUndefined();
      expect(auto.thresholds.get('alpha')).toBeLessThan(Math.tanh(1.7 - 0.25));
    });

    it('needs 50 cells and a lower group of at least 5% of them', () => {
      expect(novelGroup([...known.slice(0, 40), ...novel.slice(0, 9)])).toBeUndefined();
      expect(novelGroup([...known, ...novel.slice(0, 10)])).toBeUndefined();
      expect(novelGroup([...known, ...novel.slice(0, 30)])).toBeDefined();
    });
  });
});
