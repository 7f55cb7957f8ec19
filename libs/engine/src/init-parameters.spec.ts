import { describe, expect, it } from 'vitest';
import { initParameters } from './init-parameters';
import { parameterLayout } from './model-shape';

const shape = { inputSize: 400, hiddenSize: 100, embeddingSize: 20 };
const layout = parameterLayout(shape);
const block = (p: Float32Array, b: { offset: number; length: number }) =>
  p.subarray(b.offset, b.offset + b.length);

describe('initParameters', () => {
  it('should return the flat layout length', () => {
    expect(initParameters(shape, 1).length).toBe(400 * 100 + 100 + 100 * 20 + 20);
  });

  it('should keep layer 1 within 1/sqrt(F) and layer 2 within 1/sqrt(H)', () => {
    const p = initParameters(shape, 7);
    const bound1 = Math.fround(1 / Math.sqrt(400));
    const bound2 = Math.fround(1 / Math.sqrt(100));
    for (const [b, bound] of [
      [layout.w1, bound1],
      [layout.b1, bound1],
      [layout.w2, bound2],
      [layout.b2, bound2],
    ] as const) {
      const values = block(p, b);
      expect(Math.max(...values)).toBeLessThanOrEqual(bound);
      expect(Math.min(...values)).toBeGreaterThanOrEqual(-bound);
    }
    // Each layer uses (nearly) its whole range: the extremes are close to the bounds.
    expect(Math.max(...block(p, layout.w1))).toBeGreaterThan(0.99 * bound1);
    expect(Math.max(...block(p, layout.w2))).toBeGreaterThan(0.99 * bound2);
  });

  it('should be deterministic for a seed', () => {
    expect(initParameters(shape, 42)).toEqual(initParameters(shape, 42));
  });

  it('should differ between seeds, even neighbouring ones', () => {
    const a = initParameters(shape, 1);
    const b = initParameters(shape, 2);
    let same = 0;
    for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
    expect(same).toBeLessThan(a.length / 1000);
  });

  it('should have the mean and variance of U(-b, b): 0 and b^2 / 3', () => {
    const big = { inputSize: 2500, hiddenSize: 200, embeddingSize: 20 }; // 500,000 W1 entries
    const w1 = block(initParameters(big, 3), parameterLayout(big).w1);
    const bound = 1 / Math.sqrt(2500);
    let sum = 0;
    let sumSq = 0;
    for (const v of w1) {
      sum += v;
      sumSq += v * v;
    }
    const mean = sum / w1.length;
    const variance = sumSq / w1.length - mean * mean;
    // Standard error of the mean: b / sqrt(3 N); allow 5 of them.
    expect(Math.abs(mean)).toBeLessThan((5 * bound) / Math.sqrt(3 * w1.length));
    expect(variance / ((bound * bound) / 3)).toBeCloseTo(1, 2);
  });

  it('should draw 14 M parameters well under a second', () => {
    const start = performance.now();
    const p = initParameters({ inputSize: 28_000, hiddenSize: 500, embeddingSize: 20 }, 5);
    expect(p.length).toBe(28_000 * 500 + 500 + 500 * 20 + 20);
    expect(performance.now() - start).toBeLessThan(1000);
  });

  it('should reject a bad shape or seed, naming the function', () => {
    expect(() => initParameters({ inputSize: 0, hiddenSize: 5, embeddingSize: 2 }, 1)).toThrow(
      /initParameters: shape.inputSize/,
    );
    expect(() => initParameters(shape, 1.5)).toThrow(/initParameters: seed/);
  });
});
