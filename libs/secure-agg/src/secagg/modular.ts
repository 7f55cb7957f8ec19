import { asInt32, type LaneBits } from './fixed-point';
import { KERNEL_CHUNK_WORDS, maskKernel, SLOTS, W } from './simd-kernel';

/**
 * Exact arithmetic on vectors of b-bit lanes packed in 32-bit words, mod 2^b per lane. Addition
 * mod 2^b is associative and commutative, so the aggregator can add masked inputs as they arrive,
 * in any order and in any split over threads, and always get the same bits. The loops use
 * Int32Array and `| 0`: V8 keeps them in integer registers, and ToInt32 of an exact integer sum is
 * its residue mod 2^32. Narrower lanes are added a word at a time without carries crossing lanes
 * (SWAR): add the lanes' low b-1 bits (no carry can leave a lane), then set each lane's top bit to
 * the XOR of the operands' top bits and the carry into it.
 */

const HIGH: Record<LaneBits, number> = { 8: 0x80808080 | 0, 16: 0x80008000 | 0, 32: 0 };

/**
 * acc[lo, hi) += v[lo, hi)  (words; mod 2^b in each lane). Through the SIMD kernel where there is
 * one: a chunk of each copied in, one lane-wise add, copied back.
 */
export function addInto(
  acc: Uint32Array,
  v: Uint32Array,
  lo = 0,
  hi = acc.length,
  bits: LaneBits = 32,
): void {
  const a = asInt32(acc);
  const b = asInt32(v);
  const k = maskKernel();
  if (k) {
    const wi = W / 4;
    const si = SLOTS[0] / 4;
    for (let base = lo; base < hi; base += KERNEL_CHUNK_WORDS) {
      const end = Math.min(hi, base + KERNEL_CHUNK_WORDS);
      const len = end - base;
      k.i32.set(a.subarray(base, end), wi);
      k.i32.set(b.subarray(base, end), si);
      k.acc[bits][1][0](((len + 3) & ~3) * 4); // lanes past len are never copied back
      a.set(k.i32.subarray(wi, wi + len), base);
    }
    return;
  }
  if (bits === 32) {
    for (let i = lo; i < hi; i++) a[i] = (a[i] + b[i]) | 0;
    return;
  }
  const high = HIGH[bits];
  const low = ~high;
  for (let i = lo; i < hi; i++) {
    const x = a[i];
    const y = b[i];
    a[i] = ((x & low) + (y & low)) ^ ((x ^ y) & high);
  }
}

/** acc[lo, hi) -= v[lo, hi)  (words; mod 2^b in each lane). */
export function subInto(
  acc: Uint32Array,
  v: Uint32Array,
  lo = 0,
  hi = acc.length,
  bits: LaneBits = 32,
): void {
  const a = asInt32(acc);
  const b = asInt32(v);
  if (bits === 32) {
    for (let i = lo; i < hi; i++) a[i] = (a[i] - b[i]) | 0;
    return;
  }
  // x - y = x + (~y + 1) lane-wise: the lanes' two's complement negation, also without carries out.
  const high = HIGH[bits];
  const low = ~high;
  const one = bits === 16 ? 0x00010001 : 0x01010101;
  for (let i = lo; i < hi; i++) {
    const x = a[i];
    const ny = ~b[i];
    const neg = ((ny & low) + one) ^ (ny & high); // ~y + 1 per lane
    a[i] = ((x & low) + (neg & low)) ^ ((x ^ neg) & high);
  }
}

/** The modular sum of equally long vectors (a new vector). */
export function modularSum(vectors: readonly Uint32Array[], bits: LaneBits = 32): Uint32Array {
  if (vectors.length === 0) throw new Error('modularSum: no vectors');
  const out = new Uint32Array(vectors[0].length);
  for (const v of vectors) {
    if (v.length !== out.length)
      throw new RangeError(`modularSum: lengths ${v.length} and ${out.length} differ`);
    addInto(out, v, 0, out.length, bits);
  }
  return out;
}
