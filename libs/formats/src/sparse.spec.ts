import { describe, expect, it } from 'vitest';
import { cooToCsr, GrowableArray, transposeCsr } from './sparse';

describe('transposeCsr', () => {
  it('should transpose with sorted indices, keeping empty rows', () => {
    // 2 x 3: [[1, 0, 2], [0, 0, 3]]
    const m = {
      indptr: Float64Array.from([0, 2, 3]),
      indices: Int32Array.from([0, 2, 2]),
      data: Float32Array.from([1, 2, 3]),
    };
    const t = transposeCsr(2, 3, m);
    expect(Array.from(t.indptr)).toEqual([0, 1, 1, 3]);
    expect(Array.from(t.indices)).toEqual([0, 0, 1]);
    expect(Array.from(t.data)).toEqual([1, 2, 3]);
  });
});

describe('cooToCsr', () => {
  it('should sort entries into rows and sum duplicates', () => {
    const rows = Int32Array.from([1, 0, 1, 1, 0]);
    const cols = Int32Array.from([2, 1, 0, 2, 1]);
    const vals = Float32Array.from([1, 2, 3, 4, 5]);
    const m = cooToCsr(3, rows, cols, vals);
    expect(Array.from(m.indptr)).toEqual([0, 1, 3, 3]);
    expect(Array.from(m.indices)).toEqual([1, 0, 2]);
    expect(Array.from(m.data)).toEqual([7, 3, 5]);
  });
});

describe('GrowableArray', () => {
  it('should grow past its first capacity and trim on toArray', () => {
    const a = new GrowableArray((n) => new Int32Array(n));
    for (let i = 0; i < 5000; i++) a.push(i);
    const out = a.toArray();
    expect(out).toHaveLength(5000);
    expect(out[4999]).toBe(4999);
  });
});
