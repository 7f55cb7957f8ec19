import { describe, expect, it } from 'vitest';
import { pearsonRows } from '../../bench/softmax-head';

describe('the softmax head probe: embeddings as the landmarks see them', () => {
  it('centres each row and scales it to norm sqrt(E)', () => {
    // Row 1: [1, 2, 3, 6] has mean 3, deviations [-2, -1, 0, 3] (norm sqrt(14)); times sqrt(4) = 2.
    // Row 2 has no variance: left at zero rather than divided by 0.
    const rows = pearsonRows(Float32Array.from([1, 2, 3, 6, 5, 5, 5, 5]), 2, 4);
    const k = 2 / Math.sqrt(14);
    expect(Array.from(rows.subarray(0, 4))).toEqual([-2 * k, -k, 0, 3 * k].map((x) => Math.fround(x)));
    expect(Array.from(rows.subarray(4))).toEqual([0, 0, 0, 0]);
  });

  it('gives rows that differ by an offset and a positive scale the same values (what a correlation ignores)', () => {
    const a = pearsonRows(Float32Array.from([0.5, -1, 2]), 1, 3);
    const b = pearsonRows(Float32Array.from([11, 8, 14]), 1, 3); // 2 * a + 10
    for (let i = 0; i < 3; i++) expect(b[i]).toBeCloseTo(a[i], 6);
  });
});
