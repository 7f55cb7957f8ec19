import { describe, expect, it } from 'vitest';
import { asInt32, decodeMean, encode, encodeRange, fixedPoint, quantisationBound } from './fixed-point';
import { modularSum } from './modular';

describe('fixed-point encoding', () => {
  it('chooses the largest scale whose K-fold sum cannot wrap', () => {
    const fp = fixedPoint(10);
    expect(fp.scale).toBe(Math.floor((2 ** 31 - 1 - 10) / 80));
    expect(fp.scale).toBe(26843545);
    // K inputs all at +clip and all at -clip: the signed sum is exact, no wrap.
    for (const v of [8, -8]) {
      const one = encode(new Float32Array([v]), fp).words;
      const sum = modularSum(Array.from({ length: 10 }, () => one));
      expect(asInt32(sum)[0]).toBe(10 * Math.round(v * fp.scale));
      expect(decodeMean(sum, fp, 10)[0]).toBeCloseTo(v, 6);
    }
  });

  it('round-trips within 1/(2 scale) plus float32 rounding', () => {
    const fp = fixedPoint(7);
    const x = Float32Array.from(
      { length: 100_000 },
      (_, i) => Math.sin(i * 0.37) * (i % 3 === 0 ? 7.9 : 0.9),
    );
    const { words, outOfRange } = encode(x, fp);
    expect(outOfRange).toBe(0);
    const back = decodeMean(words, fp, 1);
    const bound = quantisationBound(fp, 1);
    expect(bound).toBeCloseTo(1 / (2 * fp.scale), 20);
    for (let i = 0; i < x.length; i++) {
      expect(Math.abs(back[i] - x[i])).toBeLessThanOrEqual(bound + Math.abs(x[i]) * 2 ** -24);
    }
  });

  it('the mean of K encodings is within the documented bound of the plain mean', () => {
    for (const k of [2, 3, 5, 10]) {
      const fp = fixedPoint(k);
      const xs = Array.from({ length: k }, (_, u) =>
        Float32Array.from({ length: 20_000 }, (_, i) => Math.cos(i * 0.11 + u) * 0.99),
      );
      const mean = decodeMean(modularSum(xs.map((x) => encode(x, fp).words)), fp, k);
      const bound = quantisationBound(fp, k);
      let worst = 0;
      for (let i = 0; i < mean.length; i++) {
        let plain = 0;
        for (const x of xs) plain += x[i];
        plain /= k;
        const err = Math.abs(mean[i] - plain) - Math.abs(plain) * 2 ** -24;
        worst = Math.max(worst, err);
      }
      expect(worst).toBeLessThanOrEqual(bound);
      expect(bound).toBeLessThan(2e-8 * (10 / k) + 1e-12);
    }
  });

  it('clips and counts values outside [-clip, clip], and NaN', () => {
    const fp = fixedPoint(4, 2);
    const x = new Float32Array([0.5, 2.5, -3, Infinity, -Infinity, NaN, 2, -2]);
    const { words, outOfRange } = encode(x, fp);
    expect(outOfRange).toBe(5);
    expect(Array.from(decodeMean(words, fp, 1))).toEqual([0.5, 2, -2, 2, -2, 0, 2, -2]);
  });

  it('encodes a sub-range only, so threads can split the work', () => {
    const fp = fixedPoint(3);
    const x = Float32Array.from({ length: 1000 }, (_, i) => (i - 500) / 600);
    const whole = encode(x, fp).words;
    const parts = new Uint32Array(1000);
    encodeRange(x, parts, fp, 1, 0, 333);
    encodeRange(x, parts, fp, 1, 333, 1000);
    expect(parts).toEqual(whole);
  });

  it('weights: the weighted mean within |S| / (2 scale W)', () => {
    const fp = fixedPoint(3);
    const xs = [0.3, -0.7, 0.9].map((v) => new Float32Array([v]));
    const w = [1, 0.25, 0.5];
    const sum = modularSum(xs.map((x, i) => encode(x, fp, w[i]).words));
    const W = w.reduce((a, b) => a + b);
    const plain = (0.3 * 1 + -0.7 * 0.25 + 0.9 * 0.5) / W;
    expect(Math.abs(decodeMean(sum, fp, W)[0] - plain)).toBeLessThanOrEqual(
      quantisationBound(fp, 3, W) + Math.abs(plain) * 2 ** -24,
    );
    expect(() => encode(xs[0], fp, 1.5)).toThrow(RangeError);
  });
});
