import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  applyMeanUpdateRange,
  decodeMean,
  encode,
  encodeRange,
  fixedPoint,
  laneView,
  quantisationBound,
  wordsFor,
  type LaneBits,
} from './fixed-point';
import { encodeAddMaskRange, maskedWords, maskRange, precomputeMaskRange, type MaskPlan } from './masking';
import { addInto, modularSum, subInto } from './modular';
import { applyMaskStreams } from './prg';
import { SecureAggregationSession } from './session';
import { setMaskKernelEnabled } from './simd-kernel';
import { fakeEnvelopes } from './testing/fake-envelopes';
import { syntheticParams } from './testing/inputs';

const BITS: LaneBits[] = [8, 16, 32];

/**
 * The encoding, hand-written: 32-bit lanes floor(v m + 1/2) in float64; 16 and 8 bits in float32,
 * nearest(fround(v * fround(m))) with ties to even (what the SIMD kernel computes four at a time).
 */
function expected(v: number, scale: number, bits: LaneBits, weight = 1): number {
  if (bits === 32) return Math.floor(v * weight * scale + 0.5);
  const s = Math.fround(Math.fround(v) * Math.fround(weight * scale));
  const r = Math.floor(s);
  const frac = s - r;
  return frac > 0.5 || (frac === 0.5 && r % 2 !== 0) ? r + 1 : r;
}

function plan(n: number, bits: LaneBits, clip: number, streams = 5, weight = 1): MaskPlan {
  return {
    round: 1,
    length: n,
    weight,
    fixedPoint: fixedPoint(5, clip, bits),
    streams: Array.from({ length: streams }, (_, i) => ({
      key: new Uint8Array(randomBytes(16)),
      sign: i % 2 === 1 ? -1 : 1,
    })),
  };
}

/** Lane-by-lane reference: (a + b) mod 2^bits as signed values, written the slow obvious way. */
function referenceAdd(a: Uint32Array, b: Uint32Array, bits: LaneBits, sign: 1 | -1): Uint32Array {
  const out = a.slice();
  const la = laneView(out, bits);
  const lb = laneView(b, bits);
  const mod = 2 ** bits;
  for (let i = 0; i < la.length; i++) {
    let v = (la[i] + sign * lb[i]) % mod;
    if (v < 0) v += mod;
    if (v >= mod / 2) v -= mod;
    la[i] = v;
  }
  return out;
}

afterEach(() => setMaskKernelEnabled(true));

describe('fixed point at 8, 16 and 32 bits', () => {
  it('chooses the largest scale whose K-term sums fit the signed lane (hand-derived)', () => {
    // floor((2^(b-1) - 1 - K) / (c K))
    expect(fixedPoint(3, 0.002, 16).scale).toBe(5_460_666); // (32767 - 3) / 0.006 = 5 460 666.67
    expect(fixedPoint(10, 0.002, 16).scale).toBe(1_637_850); // (32767 - 10) / 0.02 = 1 637 850
    expect(fixedPoint(3, 0.002, 8).scale).toBe(20_666); // (127 - 3) / 0.006 = 20 666.67
    expect(fixedPoint(10, 8, 32).scale).toBe(26_843_545); // the weights-mode default
    expect(() => fixedPoint(200, 1, 8)).toThrow(/no resolution at 8 bits/);
  });

  it.each(BITS)('%i bits: K values at the clip sum without wrapping, and decode to their mean', (bits) => {
    for (const k of [2, 3, 5, 10]) {
      const fp = fixedPoint(k, 0.01, bits);
      const n = 37; // not a multiple of any lane count: the last word has padding lanes
      const xs = Array.from({ length: k }, (_, j) =>
        Float32Array.from({ length: n }, (_, i) =>
          i % 3 === 0 ? 0.01 : i % 3 === 1 ? -0.01 : (j - 2) * 0.001,
        ),
      );
      const words = xs.map((x) => encode(x, fp).words);
      expect(words[0].length).toBe(wordsFor(n, bits));
      const sum = modularSum(words, bits);
      const lanes = laneView(sum, bits);
      const max = 2 ** (bits - 1) - 1;
      for (let i = 0; i < n; i++) expect(Math.abs(lanes[i])).toBeLessThanOrEqual(max);
      for (let i = n; i < lanes.length; i++) expect(lanes[i]).toBe(0); // padding lanes stay 0
      const mean = decodeMean(sum, fp, k, n);
      const bound = quantisationBound(fp, k);
      for (let i = 0; i < n; i++) {
        const plain = xs.reduce((s, x) => s + x[i], 0) / k;
        expect(Math.abs(mean[i] - plain)).toBeLessThanOrEqual(bound + 1e-7 * Math.abs(plain) + 1e-12);
      }
    }
  });

  it.each(BITS)('%i bits: values outside the clip are clipped and counted, NaN too', (bits) => {
    const fp = fixedPoint(2, 0.5, bits);
    const words = new Uint32Array(wordsFor(5, bits));
    const clipped = encodeRange(Float32Array.from([0.25, 0.7, -3, Number.NaN, -0.5]), words, fp);
    expect(clipped).toBe(3);
    const lanes = laneView(words, bits);
    expect(Array.from(lanes.subarray(0, 5))).toEqual([
      expected(0.25, fp.scale, bits),
      expected(0.5, fp.scale, bits),
      expected(-0.5, fp.scale, bits),
      0,
      expected(-0.5, fp.scale, bits),
    ]);
    // The scale is odd here, so +-0.5 * scale is a tie: 16 and 8 bits round it to even.
    if (bits < 32) expect(lanes[1] % 2).toBe(0);
  });

  it.each(BITS)('%i bits: the update x - base is taken in float32 and applied back exactly', (bits) => {
    const n = 1001;
    const base = syntheticParams(n, 3);
    const x = base.map((v, i) => v + (i % 7) * 1e-4 - 3e-4);
    const fp = fixedPoint(1, 0.001, bits);
    const words = new Uint32Array(wordsFor(n, bits));
    expect(encodeRange(x, words, fp, 1, 0, n, base)).toBe(0);
    const lanes = laneView(words, bits);
    for (let i = 0; i < n; i++) {
      expect(lanes[i]).toBe(expected(Math.fround(x[i] - base[i]), fp.scale, bits));
    }
    const model = base.slice();
    applyMeanUpdateRange(words, fp, 1, model);
    for (let i = 0; i < n; i++) expect(model[i]).toBe(Math.fround(base[i] + lanes[i] / fp.scale));
  });
});

describe('modular lanes', () => {
  it.each(BITS)('%i bits: addInto and subInto wrap in each lane, never across lanes', (bits) => {
    const n = 4099;
    const a = new Uint32Array(randomBytes(n * 4).buffer);
    const b = new Uint32Array(randomBytes(n * 4).buffer);
    // Edge words: every lane at its extremes, so carries would show if they crossed lanes.
    a.set([0xffffffff, 0x80808080, 0x7fff7fff, 0x80008000, 0]);
    b.set([0x01010101, 0x80808080, 0x00010001, 0xffffffff, 0xffffffff]);
    const sum = a.slice();
    addInto(sum, b, 0, n, bits);
    expect(sum).toEqual(referenceAdd(a, b, bits, 1));
    const diff = a.slice();
    subInto(diff, b, 0, n, bits);
    expect(diff).toEqual(referenceAdd(a, b, bits, -1));
    subInto(sum, b, 0, n, bits);
    expect(sum).toEqual(a);
    // Without WebAssembly SIMD: the SWAR loop, same words.
    setMaskKernelEnabled(false);
    const swar = a.slice();
    addInto(swar, b, 0, n, bits);
    expect(swar).toEqual(referenceAdd(a, b, bits, 1));
    setMaskKernelEnabled(true);
    // A sub-range leaves the words outside it alone.
    const part = a.slice();
    addInto(part, b, 5, 4001, bits);
    expect(part.subarray(0, 5)).toEqual(a.subarray(0, 5));
    expect(part.subarray(4001)).toEqual(a.subarray(4001));
    expect(part.subarray(5, 4001)).toEqual(referenceAdd(a, b, bits, 1).subarray(5, 4001));
  });
});

describe('masking at 8, 16 and 32 bits', () => {
  const n = 70_001; // several kernel chunks at every width, with padding lanes at 8 and 16 bits

  it.each(BITS)('%i bits: SIMD and JavaScript give the same words; masks cancel to the encoding', (bits) => {
    const base = syntheticParams(n, 5);
    const x = base.map((v, i) => v + ((i % 11) - 5) * 1e-4);
    const p = plan(n, bits, 0.002);
    const simd = new Uint32Array(maskedWords(p));
    const clippedSimd = maskRange(x, simd, p, 0, simd.length, base);
    setMaskKernelEnabled(false);
    const js = new Uint32Array(maskedWords(p)).fill(0xdeadbeef); // padding lanes must be overwritten
    const clippedJs = maskRange(x, js, p, 0, js.length, base);
    setMaskKernelEnabled(true);
    expect(js).toEqual(simd);
    expect(clippedJs).toBe(clippedSimd);
    expect(clippedSimd).toBe(0);
    // Removing every stream leaves the plain encoding of the update.
    applyMaskStreams(
      simd,
      p.streams.map((s) => ({ key: s.key, sign: s.sign === 1 ? -1 : 1 })),
      0,
      simd.length,
      bits,
    );
    const plain = new Uint32Array(maskedWords(p));
    encodeRange(x, plain, p.fixedPoint, 1, 0, n, base);
    expect(simd).toEqual(plain);
  });

  it.each(BITS)('%i bits: any split into ranges, and a precomputed mask, give the same words', (bits) => {
    const x = syntheticParams(n, 9).map((v) => v * 0.001);
    const p = plan(n, bits, 0.002, 3, 0.75);
    const words = maskedWords(p);
    const whole = new Uint32Array(words);
    maskRange(x, whole, p);
    const parts = new Uint32Array(words).fill(7);
    const cuts = [0, 3, 8191, Math.floor(words / 2) + 1, words];
    for (const [lo, hi] of cuts.slice(1).map((hi, i) => [cuts[i], hi])) maskRange(x, parts, p, lo, hi);
    expect(parts).toEqual(whole);
    const mask = new Uint32Array(words);
    precomputeMaskRange(mask, p, 0, 9);
    precomputeMaskRange(mask, p, 9, words);
    encodeAddMaskRange(x, mask, mask, p);
    expect(mask).toEqual(whole);
  });
});

describe('secure aggregation of round updates at 8 and 16 bits', () => {
  const ids = (k: number) => Array.from({ length: k }, (_, i) => `inst-${i}`);

  it.each([
    [2, 16],
    [3, 16],
    [5, 16],
    [10, 16],
    [3, 8],
    [10, 8],
  ] as const)('K = %i, %i bits: base + the mean update, within the bound, with dropouts', async (k, bits) => {
    const names = ids(k);
    const { signers, verifier } = fakeEnvelopes(names);
    const clip = 0.002;
    const s = await SecureAggregationSession.setup({
      federationId: 'fed-lanes',
      institutions: names,
      bits,
      clip,
      signers,
      verifier,
    });
    const n = 5003;
    const base = syntheticParams(n, 11);
    const inputs = new Map(
      names.map((id, j) => [id, base.map((v, i) => v + Math.sin(i * 0.37 + j) * 0.0015)] as const),
    );
    // At K >= 5 one institution drops after masking: the others' pair masks with it are removed.
    const drop = k >= 5 ? [names[1]] : [];
    const r = await s.aggregate(1, inputs, { base, dropAfterMasking: drop });
    expect(r.survivors.length).toBe(k - drop.length);
    expect(r.outOfRange).toBe(0);
    expect(r.sum.length).toBe(wordsFor(n, bits));
    const fp = fixedPoint(k, clip, bits);
    const bound = quantisationBound(fp, r.survivors.length);
    for (let i = 0; i < n; i++) {
      const plainUpdate =
        r.survivors.reduce((a, id) => a + (inputs.get(id)![i] - base[i]), 0) / r.survivors.length;
      // base + update, rounded to float32 once: within the quantisation bound plus float32 rounding.
      expect(Math.abs(r.mean[i] - (base[i] + plainUpdate))).toBeLessThanOrEqual(
        bound + 2 ** -24 * Math.abs(base[i]) + 1e-12,
      );
    }
    // Every party that holds the base and the aggregate decodes the same model bits.
    const again = base.slice();
    applyMeanUpdateRange(r.sum, fp, r.survivors.length, again);
    expect(again).toEqual(r.mean);
  });
});
