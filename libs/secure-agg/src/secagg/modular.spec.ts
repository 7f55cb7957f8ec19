import { describe, expect, it } from 'vitest';
import { addInto, modularSum, subInto } from './modular';

function words(n: number, seed: number): Uint32Array {
  let s = seed;
  return Uint32Array.from({ length: n }, () => (s = (Math.imul(s, 747796405) + 2891336453) >>> 0));
}

describe('modular sums', () => {
  it('wrap mod 2^32', () => {
    const a = new Uint32Array([0xffffffff, 0x80000000, 5]);
    addInto(a, new Uint32Array([2, 0x80000000, 0xfffffffb]));
    expect(Array.from(a)).toEqual([1, 0, 0]);
    subInto(a, new Uint32Array([2, 1, 0]));
    expect(Array.from(a)).toEqual([0xffffffff, 0xffffffff, 0]);
  });

  it('do not depend on order or on how the range is split', () => {
    const vs = Array.from({ length: 7 }, (_, i) => words(10_001, i + 1));
    const ref = modularSum(vs);
    const orders = [
      [6, 5, 4, 3, 2, 1, 0],
      [3, 0, 6, 1, 5, 2, 4],
      [1, 3, 5, 0, 2, 4, 6],
    ];
    for (const order of orders) expect(modularSum(order.map((i) => vs[i]))).toEqual(ref);
    const split = new Uint32Array(10_001);
    for (const v of vs) {
      addInto(split, v, 0, 4093);
      addInto(split, v, 4093, 10_001);
    }
    expect(split).toEqual(ref);
    // and equals the BigInt reference
    for (const i of [0, 17, 10_000]) {
      const big = vs.reduce((s, v) => s + BigInt(v[i]), 0n) % 2n ** 32n;
      expect(BigInt(ref[i])).toBe(big);
    }
  });
});
