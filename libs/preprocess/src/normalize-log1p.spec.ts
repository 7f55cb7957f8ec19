import { describe, expect, it } from 'vitest';
import { normalizeLog1p } from './normalize-log1p';
import { denseRow, sparseCounts } from './testing/sparse-counts';

describe(normalizeLog1p.name, () => {
  it('should scale each cell to 10,000 and take ln(1 + x)', () => {
    // Cell [1, 3] sums to 4: 1 * 10000/4 = 2500 and 3 * 10000/4 = 7500.
    const m = normalizeLog1p(sparseCounts(['A', 'B'], [[1, 3]]));
    expect(denseRow(m, 0)).toEqual([Math.fround(Math.log(1 + 2500)), Math.fround(Math.log(1 + 7500))]);
    expect(m.data).toBeInstanceOf(Float32Array);
  });

  it('should normalise each cell on its own total', () => {
    // Cell 2 [0, 2, 2] sums to 4: 2 * 10000/4 = 5000 in each non-zero gene; zeros stay 0.
    const m = normalizeLog1p(
      sparseCounts(
        ['A', 'B', 'C'],
        [
          [10, 0, 0],
          [0, 2, 2],
        ],
      ),
    );
    expect(denseRow(m, 0)).toEqual([Math.fround(Math.log(10_001)), 0, 0]);
    expect(denseRow(m, 1)).toEqual([0, Math.fround(Math.log(5001)), Math.fround(Math.log(5001))]);
  });

  it('should use a custom targetSum', () => {
    // [1, 1] scaled to 2 -> [1, 1] -> ln 2 each.
    const m = normalizeLog1p(sparseCounts(['A', 'B'], [[1, 1]]), 2);
    expect(denseRow(m, 0)).toEqual([Math.fround(Math.LN2), Math.fround(Math.LN2)]);
  });

  it('should leave a cell with zero counts as zeros, not NaN', () => {
    const counts = sparseCounts(['A', 'B'], [[0, 0]]);
    // An explicitly stored zero must not turn into NaN either (0 * 10000/0).
    const withStoredZero = {
      ...counts,
      indptr: Float64Array.of(0, 1),
      indices: Int32Array.of(0),
      data: Float32Array.of(0),
    };
    expect(denseRow(normalizeLog1p(counts), 0)).toEqual([0, 0]);
    expect(Array.from(normalizeLog1p(withStoredZero).data)).toEqual([0]);
  });

  it('should not modify its input', () => {
    const counts = sparseCounts(['A', 'B'], [[1, 3]]);
    normalizeLog1p(counts);
    expect(Array.from(counts.data)).toEqual([1, 3]);
  });

  it('should reject a targetSum that is not positive, naming the option', () => {
    const counts = sparseCounts(['A'], [[1]]);
    expect(() => normalizeLog1p(counts, 0)).toThrow(/option targetSum must be a positive number, got 0/);
    expect(() => normalizeLog1p(counts, Number.POSITIVE_INFINITY)).toThrow(/targetSum/);
  });
});
