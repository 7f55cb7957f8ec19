import { describe, expect, it } from 'vitest';
import { fitNovelGroupByType, novelBoundary, novelProbabilityOf } from './novel-group-by-type';
import { fitTwoGroups, lowerGroupBoundary } from './two-groups';

/** Deterministic normal draws (Box-Muller over a linear congruential generator). */
function draw(n: number, centre: number, spread: number, seed: number): number[] {
  let s = seed;
  const uniform = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) + 1) / (2 ** 32 + 2);
  return Array.from(
    { length: n },
    () => centre + spread * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()),
  );
}

describe(fitNovelGroupByType.name, () => {
  it('with one type and no priors, is the two-group fit (the same model)', () => {
    const z = [...draw(300, 1.8, 0.2, 1), ...draw(100, 0.6, 0.15, 2)];
    const two = fitTwoGroups(z);
    const fit = fitNovelGroupByType(Array(z.length).fill('t'), z, two, 0, -Infinity, 0);
    expect(fit.novel.mean).toBeCloseTo(two.mean[0], 6);
    expect(fit.novel.sd).toBeCloseTo(two.sd[0], 6);
    expect(fit.mean[0]).toBeCloseTo(two.mean[1], 6);
    expect(fit.sd[0]).toBeCloseTo(two.sd[1], 6);
    expect(fit.weight[0]).toBeCloseTo(two.weight[0], 6);
  });

  it('recovers each type its own known component, and the novel one they share', () => {
    // alpha: 300 known cells, tight around z 1.9; delta: 80 known cells, looser around 1.4.
    // 150 novel cells around 0.6: 30 given alpha, 120 given delta.
    const z = [
      ...draw(300, 1.9, 0.12, 3),
      ...draw(30, 0.6, 0.15, 4),
      ...draw(80, 1.4, 0.25, 5),
      ...draw(120, 0.6, 0.15, 6),
    ];
    const labels = [...Array(330).fill('alpha'), ...Array(200).fill('delta')];
    const fit = fitNovelGroupByType(labels, z, fitTwoGroups(z), 0);
    expect(fit.types).toEqual(['alpha', 'delta']);
    expect(Math.abs(fit.novel.mean - 0.6)).toBeLessThan(0.05);
    expect(Math.abs(fit.novel.sd - 0.15)).toBeLessThan(0.03);
    expect(Math.abs(fit.mean[0] - 1.9)).toBeLessThan(0.03);
    expect(Math.abs(fit.sd[0] - 0.12)).toBeLessThan(0.03);
    expect(Math.abs(fit.mean[1] - 1.4)).toBeLessThan(0.08);
    expect(Math.abs(fit.sd[1] - 0.25)).toBeLessThan(0.06);
    expect(Math.abs(fit.weight[0] - 30 / 330)).toBeLessThan(0.02);
    expect(Math.abs(fit.weight[1] - 120 / 200)).toBeLessThan(0.05);
    // Each cell's probability is the fitted mixture's, from its own type's weight.
    expect(fit.novelProbability[400]).toBeCloseTo(novelProbabilityOf(fit, 1, z[400]), 12);
  });

  it('shrinks a type of few cells towards the pooled known component', () => {
    // Three cells given `rare` at z 1.0, 1.1, 1.2, well above the novel group: alone they would
    // make a tight known component at 1.1; 30 pseudo-cells of the pooled one (about 1.9) pull it up.
    const z = [...draw(300, 1.9, 0.15, 7), ...draw(100, 0.5, 0.15, 8), 1.0, 1.1, 1.2];
    const labels = [...Array(400).fill('common'), 'rare', 'rare', 'rare'];
    const alone = fitNovelGroupByType(labels, z, fitTwoGroups(z), 0);
    const shrunk = fitNovelGroupByType(labels, z, fitTwoGroups(z), 30);
    expect(Math.abs(alone.mean[1] - 1.1)).toBeLessThan(0.05);
    // Posterior mean (n x mean_own + 30 x pooled) / (n + 30), n the known share of 3 cells.
    const n = 3 * (1 - shrunk.weight[1]);
    const own = [1.0, 1.1, 1.2].reduce((a, x, i) => a + (1 - shrunk.novelProbability[400 + i]) * x, 0);
    expect(shrunk.mean[1]).toBeCloseTo((own + 30 * shrunk.known.mean) / (n + 30), 3);
    expect(shrunk.mean[1]).toBeGreaterThan(1.7);
  });

  it('gives a type holding hundreds of novel cells its own novel component', () => {
    // `near`: 115 known cells and 300 novel ones that resemble it (z 0.9); `far`: 300 known cells
    // and 150 novel ones that do not (z 0.3), as the held-out T/NK cells given `B cells` and
    // `Monocytes` on pbmc. One shared novel component, centred between, leaves near's novel cells
    // to its known component; near's own takes them.
    const z = [
      ...draw(115, 1.95, 0.15, 21),
      ...draw(300, 0.9, 0.25, 22),
      ...draw(300, 1.9, 0.2, 23),
      ...draw(150, 0.3, 0.3, 24),
    ];
    const labels = [...Array(415).fill('near'), ...Array(450).fill('far')];
    const groups = fitTwoGroups(z);
    const split = lowerGroupBoundary(groups, 0.5);
    const own = fitNovelGroupByType(labels, z, groups, 30, split);
    const shared = fitNovelGroupByType(labels, z, groups, 30, split, 1e12);
    expect(own.types).toEqual(['far', 'near']);
    expect(shared.novelMean[0]).toBeCloseTo(shared.novelMean[1], 6);
    expect(own.novelMean[1]).toBeGreaterThan(own.novelMean[0] + 0.2);
    const rejected = (fit: typeof own, t: number, from: number, to: number) =>
      z.slice(from, to).filter((x) => x < novelBoundary(fit, t, 0.9)).length;
    expect(rejected(own, 1, 115, 415)).toBeGreaterThanOrEqual(280);
    expect(rejected(shared, 1, 115, 415)).toBeLessThan(150);
    // ... and the known cells stay.
    expect(rejected(own, 1, 0, 115)).toBeLessThanOrEqual(3);
    expect(rejected(own, 0, 415, 715)).toBeLessThanOrEqual(3);
  });

  it('with the split, a type given only novel cells cannot make them its known ones', () => {
    const z = [...draw(300, 1.9, 0.15, 9), ...draw(100, 0.6, 0.15, 10)];
    const labels = [...Array(300).fill('known'), ...Array(100).fill('taken')];
    const groups = fitTwoGroups(z);
    // Without a floor or prior, `taken`'s known component sits on its own (novel) cells.
    const free = fitNovelGroupByType(labels, z, groups, 0, -Infinity, 0);
    const floored = fitNovelGroupByType(labels, z, groups, 0, lowerGroupBoundary(groups, 0.5), 0);
    const rejected = (fit: typeof free) =>
      z.filter((x, c) => labels[c] === 'taken' && x < novelBoundary(fit, 1, 0.9)).length;
    expect(rejected(free)).toBeLessThan(50);
    expect(free.mean[1]).toBeLessThan(1);
    expect(floored.mean[1]).toBeGreaterThanOrEqual(lowerGroupBoundary(groups, 0.5));
    expect(rejected(floored)).toBeGreaterThanOrEqual(97);
  });
});

describe(novelBoundary.name, () => {
  const z = [...draw(200, 1.8, 0.2, 11), ...draw(60, 0.6, 0.15, 12)];
  const fit = fitNovelGroupByType(Array(z.length).fill('t'), z, fitTwoGroups(z), 0, -Infinity, 0);

  it('is where the novel probability falls to p, between the two means', () => {
    for (const p of [0.5, 0.9, 0.99]) {
      const b = novelBoundary(fit, 0, p);
      expect(b).toBeGreaterThan(fit.novelMean[0]);
      expect(b).toBeLessThan(fit.mean[0]);
      expect(novelProbabilityOf(fit, 0, b)).toBeCloseTo(p, 9);
      expect(novelProbabilityOf(fit, 0, b + 1e-6)).toBeLessThan(p);
    }
  });

  it('is the novel mean when even there the probability is below p, and the known mean when it never falls to p', () => {
    const none = { ...fit, weight: [1e-9] };
    expect(novelProbabilityOf(none, 0, fit.novelMean[0])).toBeLessThan(0.9);
    expect(novelBoundary(none, 0, 0.9)).toBe(fit.novelMean[0]);
    const all = { ...fit, weight: [0.999], novelSd: [1] };
    expect(novelProbabilityOf(all, 0, fit.mean[0])).toBeGreaterThanOrEqual(0.5);
    expect(novelBoundary(all, 0, 0.5)).toBe(fit.mean[0]);
  });
});
