import { describe, expect, it } from 'vitest';
import { computeLandmarks } from './landmarks';

describe('computeLandmarks', () => {
  // E = 2. Type 0: 3 cells (odd), type 1: 4 cells (even), type 2: 1 cell, type 3: none.
  // [dim 0, dim 1, type] per cell.
  const cells = [
    [5, 0, 0],
    [1, 10, 1],
    [3, -1, 0],
    [9, 2, 1],
    [-4, 7, 2],
    [4, 4, 0],
    [2, 6, 1],
    [8, -3, 1],
  ];
  const embeddings = Float32Array.from(cells.flatMap(([a, b]) => [a, b]));
  const labels = Int32Array.from(cells.map(([, , type]) => type));
  const landmarks = computeLandmarks(embeddings, 2, labels, 4);

  it('should take the middle value for an odd count', () => {
    // Type 0, dim 0: sorted [3, 4, 5] -> 4; dim 1: sorted [-1, 0, 4] -> 0.
    expect([landmarks[0], landmarks[1]]).toEqual([4, 0]);
  });

  it('should average the two middle values for an even count (numpy.median)', () => {
    // Type 1, dim 0: sorted [1, 2, 8, 9] -> (2 + 8) / 2; dim 1: sorted [-3, 2, 6, 10] -> (2 + 6) / 2.
    expect([landmarks[2], landmarks[3]]).toEqual([(2 + 8) / 2, (2 + 6) / 2]);
  });

  it('should keep a singleton as its own landmark', () => {
    expect([landmarks[4], landmarks[5]]).toEqual([-4, 7]);
  });

  it('should give NaN for a type without cells', () => {
    expect(Number.isNaN(landmarks[6]) && Number.isNaN(landmarks[7])).toBe(true);
  });

  it('should sort numerically, not as strings', () => {
    // [10, 9, 100] as strings would sort to [10, 100, 9]; the median is 10.
    expect(computeLandmarks(Float32Array.from([10, 9, 100]), 1, Int32Array.from([0, 0, 0]), 1)[0]).toBe(10);
  });

  it('should reject mismatched sizes and bad label codes', () => {
    expect(() => computeLandmarks(embeddings, 3, labels, 4)).toThrow(/computeLandmarks:/);
    expect(() => computeLandmarks(embeddings, 2, labels, 2)).toThrow(/computeLandmarks: label code/);
  });
});
