import { asInt32 } from './fixed-point';

/**
 * Exact arithmetic on vectors of 32-bit words mod 2^32. Addition mod 2^32 is associative and
 * commutative, so the aggregator can add masked inputs as they arrive, in any order and in any
 * split over threads, and always get the same bits. The loops use Int32Array and `| 0`: V8 keeps
 * them in integer registers, and ToInt32 of an exact integer sum is its residue mod 2^32.
 */

/** acc[lo, hi) += v[lo, hi)  (mod 2^32). */
export function addInto(acc: Uint32Array, v: Uint32Array, lo = 0, hi = acc.length): void {
  const a = asInt32(acc);
  const b = asInt32(v);
  for (let i = lo; i < hi; i++) a[i] = (a[i] + b[i]) | 0;
}

/** acc[lo, hi) -= v[lo, hi)  (mod 2^32). */
export function subInto(acc: Uint32Array, v: Uint32Array, lo = 0, hi = acc.length): void {
  const a = asInt32(acc);
  const b = asInt32(v);
  for (let i = lo; i < hi; i++) a[i] = (a[i] - b[i]) | 0;
}

/** The modular sum of equally long vectors (a new vector). */
export function modularSum(vectors: readonly Uint32Array[]): Uint32Array {
  if (vectors.length === 0) throw new Error('modularSum: no vectors');
  const out = new Uint32Array(vectors[0].length);
  for (const v of vectors) {
    if (v.length !== out.length)
      throw new RangeError(`modularSum: lengths ${v.length} and ${out.length} differ`);
    addInto(out, v);
  }
  return out;
}
