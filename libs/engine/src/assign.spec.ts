import { describe, expect, it } from 'vitest';
import { assignCells } from './assign';

/** Pearson correlation, written out. */
function pearson(x: number[], y: number[]): number {
  const mx = x.reduce((s, v) => s + v, 0) / x.length;
  const my = y.reduce((s, v) => s + v, 0) / y.length;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  x.forEach((_, i) => {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  });
  return sxy / Math.sqrt(sxx * syy);
}

describe('assignCells', () => {
  // E = 3.
  const setA = { landmarks: Float32Array.from([1, 2, 3, 3, 2, 1]), nTypes: 2 }; // rising, falling
  const setB = { landmarks: Float32Array.from([0, 5, 0, 1, 0, 2]), nTypes: 2 }; // peak, dip

  it('should pick the landmark with the highest Pearson correlation over all institutions', () => {
    const query = [
      [2, 4, 7], // rising: set A type 0
      [0, 9, 1], // peak: set B type 0
      [5, 1, 6], // dip: set B type 1
    ];
    const result = assignCells(Float32Array.from(query.flat()), 3, 3, [setA, setB]);
    expect([...result.bestSet]).toEqual([0, 1, 1]);
    expect([...result.bestType]).toEqual([0, 0, 1]);
    expect(result.correlation[0]).toBeCloseTo(pearson([2, 4, 7], [1, 2, 3]), 6);
    expect(result.correlation[1]).toBeCloseTo(pearson([0, 9, 1], [0, 5, 0]), 6);
    expect(result.correlation[2]).toBeCloseTo(pearson([5, 1, 6], [1, 0, 2]), 6);
  });

  it('should resolve ties to the first institution', () => {
    // Both sets hold the same landmark (a shifted and scaled copy: correlation 1 with each).
    const first = { landmarks: Float32Array.from([1, 2, 3]), nTypes: 1 };
    const second = { landmarks: Float32Array.from([10, 20, 30]), nTypes: 1 };
    const result = assignCells(Float32Array.from([4, 5, 6]), 1, 3, [first, second]);
    expect(result.bestSet[0]).toBe(0);
    expect(result.correlation[0]).toBeCloseTo(1, 6);
    expect(assignCells(Float32Array.from([4, 5, 6]), 1, 3, [second, first]).bestSet[0]).toBe(0);
  });

  it('should resolve ties to the first type within an institution', () => {
    const set = { landmarks: Float32Array.from([3, 2, 1, 1, 2, 3, 2, 4, 6]), nTypes: 3 };
    const result = assignCells(Float32Array.from([0, 1, 2]), 1, 3, [set]);
    expect(result.bestType[0]).toBe(1); // types 1 and 2 both correlate 1; type 1 comes first
  });

  it('should never choose a constant or NaN landmark', () => {
    const set = { landmarks: Float32Array.from([5, 5, 5, NaN, 1, 2, 1, 0, -1]), nTypes: 3 };
    const result = assignCells(Float32Array.from([1, 2, 3]), 1, 3, [set]);
    expect(result.bestType[0]).toBe(2);
    expect(result.correlation[0]).toBeCloseTo(-1, 6);
  });

  it('should report set 0, type 0, correlation 0 for a constant embedding', () => {
    const result = assignCells(Float32Array.from([2, 2, 2, 1, 2, 3]), 2, 3, [setA, setB]);
    expect([result.bestSet[0], result.bestType[0], result.correlation[0]]).toEqual([0, 0, 0]);
    expect([result.bestSet[1], result.bestType[1]]).toEqual([0, 0]);
    expect(result.correlation[1]).toBeCloseTo(1, 6);
  });

  it('should handle no landmark sets and no cells', () => {
    expect([...assignCells(Float32Array.from([1, 2, 3]), 1, 3, []).correlation]).toEqual([0]);
    expect(assignCells(new Float32Array(0), 0, 3, [setA]).bestSet.length).toBe(0);
  });

  it('should assign at least 200,000 cells per second (E = 20, 3 institutions x 15 types)', () => {
    const e = 20;
    const sets = [0, 1, 2].map((s) => ({
      landmarks: Float32Array.from({ length: 15 * e }, (_, i) => Math.sin(i * (s + 1.3))),
      nTypes: 15,
    }));
    const nCells = 200_000;
    const query = Float32Array.from({ length: nCells * e }, (_, i) => Math.cos(i * 0.37));
    let best = Infinity;
    for (let r = 0; r < 3; r++) {
      const start = performance.now();
      assignCells(query, nCells, e, sets);
      best = Math.min(best, performance.now() - start);
    }
    expect(nCells / (best / 1000)).toBeGreaterThan(200_000);
  });

  it('should reject badly sized inputs, naming the function', () => {
    expect(() => assignCells(Float32Array.from([1, 2]), 1, 3, [setA])).toThrow(/assignCells:/);
    expect(() =>
      assignCells(Float32Array.from([1, 2, 3]), 1, 3, [{ landmarks: new Float32Array(4), nTypes: 2 }]),
    ).toThrow(/assignCells: landmark set 0/);
  });
});
