import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { combineSegmentDigests, DIGEST_SEGMENT_WORDS, segmentDigests, vectorDigest } from './digest';
import { encode, fixedPoint } from './fixed-point';
import { encodeAddMaskRange, maskRange, precomputeMaskRange, type MaskPlan } from './masking';
import { applyMaskStreams } from './prg';
import { syntheticParams } from './testing/inputs';

function plan(n: number, streams = 6): MaskPlan {
  return {
    round: 1,
    length: n,
    weight: 1,
    fixedPoint: fixedPoint(5),
    streams: Array.from({ length: streams }, (_, i) => ({
      key: new Uint8Array(randomBytes(16)),
      sign: i % 3 === 1 ? -1 : 1,
    })),
  };
}

describe('institution masking kernel', () => {
  const n = 100_003;
  const x = syntheticParams(n, 1);

  it('maskRange = encode, then add the signed streams', () => {
    const p = plan(n);
    const y = new Uint32Array(n);
    expect(maskRange(x, y, p)).toBe(0);
    const ref = encode(x, p.fixedPoint).words;
    applyMaskStreams(ref, p.streams);
    expect(y).toEqual(ref);
  });

  it('a precomputed mask gives the same masked vector', () => {
    const p = plan(n);
    const direct = new Uint32Array(n);
    maskRange(x, direct, p);
    const mask = new Uint32Array(n);
    precomputeMaskRange(mask, p);
    expect(encodeAddMaskRange(x, mask, mask, p)).toBe(0);
    expect(mask).toEqual(direct);
  });

  it('any split of the range over threads gives the same bits', () => {
    const p = plan(n, 3);
    const whole = new Uint32Array(n);
    maskRange(x, whole, p);
    const parts = new Uint32Array(n);
    for (const [lo, hi] of [
      [0, 50_001],
      [50_001, 50_002],
      [50_002, n],
    ])
      maskRange(x, parts, p, lo, hi);
    expect(parts).toEqual(whole);
  });

  it('the segmented digest can be computed per thread', () => {
    const v = Uint32Array.from({ length: 2 * DIGEST_SEGMENT_WORDS + 5 }, (_, i) => i * 7);
    const whole = vectorDigest(v);
    const parts = [...segmentDigests(v, 0, 1), ...segmentDigests(v, 1, 3)];
    expect(combineSegmentDigests(v.length, parts)).toEqual(whole);
    v[DIGEST_SEGMENT_WORDS + 1] ^= 1;
    expect(vectorDigest(v)).not.toEqual(whole);
  });
});

describe('the WebAssembly SIMD and JavaScript paths agree bit for bit', () => {
  it('on encode + mask, precomputed masks, unaligned ranges and clipping', async () => {
    const { maskKernel, setMaskKernelEnabled } = await import('./simd-kernel');
    expect(maskKernel()).toBeDefined(); // Node 20 has WebAssembly SIMD
    const n = 3 * 16384 + 4099;
    const x = syntheticParams(n, 3, 9); // |x| up to 9 > clip 8: some clipped
    x[5] = Number.NaN;
    x[70_000] = -Infinity;
    const p = plan(n, 7);
    const run = () => {
      const direct = new Uint32Array(n);
      const clipped = [
        maskRange(x, direct, p, 0, 3),
        maskRange(x, direct, p, 3, 40_001),
        maskRange(x, direct, p, 40_001, n),
      ];
      const mask = new Uint32Array(n);
      precomputeMaskRange(mask, p, 0, 17);
      precomputeMaskRange(mask, p, 17, n);
      const viaMask = new Uint32Array(n);
      const clipped2 =
        encodeAddMaskRange(x, mask, viaMask, p, 0, 9) + encodeAddMaskRange(x, mask, viaMask, p, 9, n);
      const inPlace = mask.slice();
      encodeAddMaskRange(x, inPlace, inPlace, p);
      return { direct, clipped, viaMask, clipped2, inPlace };
    };
    try {
      setMaskKernelEnabled(true);
      const simd = run();
      setMaskKernelEnabled(false);
      const js = run();
      expect(simd.direct).toEqual(js.direct);
      expect(simd.clipped).toEqual(js.clipped);
      expect(simd.viaMask).toEqual(js.viaMask);
      expect(simd.inPlace).toEqual(js.viaMask);
      expect(js.inPlace).toEqual(js.viaMask);
      expect(simd.viaMask).toEqual(simd.direct);
      expect(simd.clipped2).toBe(simd.clipped.reduce((a, b) => a + b));
      const expectedClipped = Array.from(x).filter((v) => !(Math.abs(v) <= 8)).length;
      expect(simd.clipped2).toBe(expectedClipped);
    } finally {
      setMaskKernelEnabled(true);
    }
  });
});
