import { describe, expect, it } from 'vitest';
import { separationAuc } from './separation-auc';

describe('separationAuc', () => {
  it('is 1 when every higher item outscores every lower one, 0 when the reverse', () => {
    expect(separationAuc([0.9, 0.8], [0.1, 0.2, 0.3])).toBe(1);
    expect(separationAuc([0.1], [0.5, 0.9])).toBe(0);
  });

  it('counts the pairs by hand: 5 of 6 pairs ordered, one tie worth a half', () => {
    // higher {0.9, 0.5, 0.4}, lower {0.5, 0.1}: pairs (0.9>0.5, 0.9>0.1, 0.5=0.5, 0.5>0.1,
    // 0.4<0.5, 0.4>0.1) = 1 + 1 + 0.5 + 1 + 0 + 1 = 4.5 of 6.
    expect(separationAuc([0.9, 0.5, 0.4], [0.5, 0.1])).toBeCloseTo(4.5 / 6, 12);
  });

  it('agrees with counting every pair on random scores with ties', () => {
    let state = 7;
    const next = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) % 20) / 20;
    const hi = Array.from({ length: 40 }, next);
    const lo = Array.from({ length: 25 }, next);
    let wins = 0;
    for (const h of hi) for (const l of lo) wins += h > l ? 1 : h === l ? 0.5 : 0;
    expect(separationAuc(hi, lo)).toBeCloseTo(wins / (hi.length * lo.length), 12);
  });

  it('is 0.5 when all scores are equal, NaN with an empty group, and refuses NaN scores', () => {
    expect(separationAuc([0.3, 0.3], [0.3])).toBe(0.5);
    expect(separationAuc([], [0.3])).toBeNaN();
    expect(() => separationAuc([NaN], [0.3])).toThrow(/NaN/);
  });
});
