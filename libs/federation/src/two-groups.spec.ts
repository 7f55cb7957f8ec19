import { describe, expect, it } from 'vitest';
import { fitTwoGroups, lowerGroupBoundary, lowerGroupProbability, type TwoGroups } from './two-groups';

/** Deterministic standard normal draws (Box-Muller over a linear congruential generator). */
function normals(n: number, seed: number): number[] {
  let s = seed;
  const uniform = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) + 1) / (2 ** 32 + 2);
  return Array.from(
    { length: n },
    () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()),
  );
}

describe(fitTwoGroups.name, () => {
  it('finds two groups of equal values exactly (worked by hand)', () => {
    const g = fitTwoGroups([10, 0, 10, 0, 0, 10, 0, 10, 0, 0]);
    expect(g.weight[0]).toBeCloseTo(0.6, 12);
    expect(g.mean).toEqual([0, 10]);
    expect(g.sd).toEqual([1e-3, 1e-3]); // the floor: equal values cannot collapse a group
    expect(g.separation).toBeCloseTo((Math.SQRT2 * 10) / Math.sqrt(2e-6), 6);
  });

  it('recovers the weights, means and spreads of simulated groups', () => {
    const x = [...normals(300, 1).map((v) => 0.5 * v), ...normals(700, 2).map((v) => 4 + v)];
    const g = fitTwoGroups(x);
    expect(g.weight[0]).toBeCloseTo(0.3, 1);
    expect(Math.abs(g.mean[0] - 0)).toBeLessThan(0.1);
    expect(Math.abs(g.mean[1] - 4)).toBeLessThan(0.15);
    expect(Math.abs(g.sd[0] - 0.5)).toBeLessThan(0.08);
    expect(Math.abs(g.sd[1] - 1)).toBeLessThan(0.1);
    expect(g.separation).toBeGreaterThan(4);
  });

  it('sees no clear separation in one normal group', () => {
    expect(fitTwoGroups(normals(1000, 3)).separation).toBeLessThan(2);
  });
});

describe(lowerGroupBoundary.name, () => {
  // Equal weights and spreads, means 0 and 4: log(f0 / f1) = -(x^2 - (x - 4)^2) / 2 = 8 - 4x, so
  // P(lower | x) = 1 / (1 + exp(4x - 8)): 0.5 at x = 2, 0.9 at x = (8 - ln 9) / 4.
  const groups: TwoGroups = { weight: [0.5, 0.5], mean: [0, 4], sd: [1, 1], separation: 4 };

  it('is where the lower group probability falls to p (worked by hand)', () => {
    expect(lowerGroupProbability(groups, 2)).toBeCloseTo(0.5, 12);
    expect(lowerGroupBoundary(groups, 0.5)).toBeCloseTo(2, 9);
    expect(lowerGroupBoundary(groups, 0.9)).toBeCloseTo((8 - Math.log(9)) / 4, 9);
    expect(lowerGroupProbability(groups, (8 - Math.log(9)) / 4)).toBeCloseTo(0.9, 9);
  });

  it('is the lower mean when even it is not that likely in the lower group', () => {
    const small: TwoGroups = { weight: [0.01, 0.99], mean: [0, 1], sd: [1, 1], separation: 1 };
    expect(lowerGroupBoundary(small, 0.9)).toBe(0);
  });
});
