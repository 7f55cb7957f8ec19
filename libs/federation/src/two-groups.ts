/**
 * A two-component Gaussian mixture on one dimension, fitted by expectation-maximisation.
 *
 * Written here because no maintained npm package fits a 1-D mixture (the JavaScript ML
 * libraries offer k-means, not EM for mixtures), and the fit is twenty lines of arithmetic,
 * checked in two-groups.spec.ts against a hand-worked case and simulated data.
 */
export interface TwoGroups {
  /** Weights, means and standard deviations: index 0 is the lower group. */
  weight: [number, number];
  mean: [number, number];
  sd: [number, number];
  /** Ashman's D, sqrt(2) |mean1 - mean0| / sqrt(sd0^2 + sd1^2): > 2 means two clearly separate groups. */
  separation: number;
}

/** Floor on a group's standard deviation, so a group of equal values cannot collapse to a spike. */
const MIN_SD = 1e-3;

const density = (x: number, mean: number, sd: number) => Math.exp(-0.5 * ((x - mean) / sd) ** 2) / sd;

/** Fits two groups to `x` (at least 2 values), starting from its quartiles; deterministic. */
export function fitTwoGroups(x: ArrayLike<number>, iterations = 200): TwoGroups {
  const n = x.length;
  if (n < 2) throw new Error(`fitTwoGroups: needs at least 2 values, got ${n}`);
  const sorted = Float64Array.from(x).sort();
  let mean0 = sorted[Math.floor((n - 1) / 4)];
  let mean1 = sorted[Math.floor((3 * (n - 1)) / 4)];
  const overall = sorted.reduce((a, b) => a + b, 0) / n;
  const spread = Math.sqrt(sorted.reduce((a, b) => a + (b - overall) ** 2, 0) / n);
  let sd0 = Math.max(MIN_SD, spread / 2);
  let sd1 = sd0;
  let w0 = 0.5;
  const r0 = new Float64Array(n);
  for (let it = 0; it < iterations; it++) {
    // E step: each value's probability of belonging to the lower group.
    for (let i = 0; i < n; i++) {
      const a = w0 * density(sorted[i], mean0, sd0);
      const b = (1 - w0) * density(sorted[i], mean1, sd1);
      r0[i] = a + b > 0 ? a / (a + b) : sorted[i] < (mean0 + mean1) / 2 ? 1 : 0;
    }
    // M step: weighted means and standard deviations.
    let n0 = 0;
    let s0 = 0;
    let s1 = 0;
    for (let i = 0; i < n; i++) {
      n0 += r0[i];
      s0 += r0[i] * sorted[i];
      s1 += (1 - r0[i]) * sorted[i];
    }
    const n1 = n - n0;
    if (n0 < 1e-9 || n1 < 1e-9) break; // one group took every value: keep the last fit
    const m0 = s0 / n0;
    const m1 = s1 / n1;
    let v0 = 0;
    let v1 = 0;
    for (let i = 0; i < n; i++) {
      v0 += r0[i] * (sorted[i] - m0) ** 2;
      v1 += (1 - r0[i]) * (sorted[i] - m1) ** 2;
    }
    const moved = Math.abs(m0 - mean0) + Math.abs(m1 - mean1);
    [mean0, mean1, w0] = [m0, m1, n0 / n];
    sd0 = Math.max(MIN_SD, Math.sqrt(v0 / n0));
    sd1 = Math.max(MIN_SD, Math.sqrt(v1 / n1));
    if (moved < 1e-10) break;
  }
  const lowerFirst = mean0 <= mean1;
  const weight: [number, number] = lowerFirst ? [w0, 1 - w0] : [1 - w0, w0];
  const mean: [number, number] = lowerFirst ? [mean0, mean1] : [mean1, mean0];
  const sd: [number, number] = lowerFirst ? [sd0, sd1] : [sd1, sd0];
  const separation = (Math.SQRT2 * (mean[1] - mean[0])) / Math.sqrt(sd[0] ** 2 + sd[1] ** 2);
  return { weight, mean, sd, separation };
}

/** Two weighted normal components, lower first: a fit's groups, or one type's in a per-type fit. */
export type Components = Pick<TwoGroups, 'weight' | 'mean' | 'sd'>;

/** The probability that `x` belongs to the lower group. */
export function lowerGroupProbability(groups: Components, x: number): number {
  const a = groups.weight[0] * density(x, groups.mean[0], groups.sd[0]);
  const b = groups.weight[1] * density(x, groups.mean[1], groups.sd[1]);
  return a + b > 0 ? a / (a + b) : x < (groups.mean[0] + groups.mean[1]) / 2 ? 1 : 0;
}

/**
 * The largest x between the two means whose lower-group probability is still >= p (found by
 * bisection: the probability falls from the lower mean to the upper one for these fits): the
 * lower mean when even there it is below p, the upper mean when it never falls below p.
 */
export function lowerGroupBoundary(groups: Components, p: number): number {
  let lo = groups.mean[0];
  let hi = groups.mean[1];
  if (lowerGroupProbability(groups, lo) < p) return lo;
  if (lowerGroupProbability(groups, hi) >= p) return hi;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (lowerGroupProbability(groups, mid) >= p) lo = mid;
    else hi = mid;
  }
  return lo;
}
