import { describe, expect, it } from 'vitest';
import { assignCells } from './assign';
import { assignEnsemble } from './assign-ensemble';
import { createRng } from './rng';

function randomArray(rng: ReturnType<typeof createRng>, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.next() / 2 ** 31; // next(): a signed 32-bit integer
  return out;
}

describe('assignEnsemble', () => {
  it('is assignCells exactly with one member (random cells and landmarks, ties included)', () => {
    const rng = createRng(11);
    const e = 6;
    const nCells = 200;
    const sets = [
      { landmarks: randomArray(rng, 3 * e), nTypes: 3 },
      { landmarks: randomArray(rng, 2 * e), nTypes: 2 },
    ];
    // A copy of a landmark of set 0 in set 1 (a tie) and a constant landmark (never chosen).
    sets[1].landmarks.set(sets[0].landmarks.subarray(0, e), 0);
    sets[1].landmarks.fill(0.5, e, 2 * e);
    const embeddings = randomArray(rng, nCells * e);
    embeddings.fill(0, 0, e); // a cell with no variance
    const single = assignCells(embeddings, nCells, e, sets);
    const ensemble = assignEnsemble([{ embeddings, landmarkSets: sets }], nCells, e);
    expect([...ensemble.bestSet]).toEqual([...single.bestSet]);
    expect([...ensemble.bestType]).toEqual([...single.bestType]);
    expect([...ensemble.correlation]).toEqual([...single.correlation]);
  });

  it('averages each landmark correlation over the members, worked by hand', () => {
    // E = 3, cell (1, 2, 3). Member 1 landmarks: t0 = (1, 2, 3) -> r 1; t1 = (1, 3, 2) -> r 0.5.
    // Member 2 landmarks: t0 = (3, 2, 1) -> r -1; t1 = (1, 2, 3) -> r 1.
    // Means: t0 (1 - 1) / 2 = 0, t1 (0.5 + 1) / 2 = 0.75 -> type 1, confidence 0.75.
    const cell = Float32Array.from([1, 2, 3]);
    const m1 = {
      embeddings: cell,
      landmarkSets: [{ landmarks: Float32Array.from([1, 2, 3, 1, 3, 2]), nTypes: 2 }],
    };
    const m2 = {
      embeddings: cell,
      landmarkSets: [{ landmarks: Float32Array.from([3, 2, 1, 1, 2, 3]), nTypes: 2 }],
    };
    const r = assignEnsemble([m1, m2], 1, 3);
    expect(r.bestType[0]).toBe(1);
    expect(r.correlation[0]).toBeCloseTo(0.75, 6);
    expect(assignEnsemble([m1], 1, 3).bestType[0]).toBe(0);
  });

  it('averages a landmark over the members where it is usable', () => {
    // Type 0 is constant in member 2 (no correlation there): its mean is member 1's 1.0 alone.
    const cell = Float32Array.from([1, 2, 3]);
    const m1 = {
      embeddings: cell,
      landmarkSets: [{ landmarks: Float32Array.from([1, 2, 3, 3, 2, 1]), nTypes: 2 }],
    };
    const m2 = {
      embeddings: cell,
      landmarkSets: [{ landmarks: Float32Array.from([4, 4, 4, 1, 3, 2]), nTypes: 2 }],
    };
    const r = assignEnsemble([m1, m2], 1, 3);
    expect(r.bestType[0]).toBe(0);
    expect(r.correlation[0]).toBeCloseTo(1, 6);
  });

  it('refuses members that disagree on the landmark sets or the cells', () => {
    const a = {
      embeddings: new Float32Array(3),
      landmarkSets: [{ landmarks: new Float32Array(6), nTypes: 2 }],
    };
    const b = {
      embeddings: new Float32Array(3),
      landmarkSets: [{ landmarks: new Float32Array(3), nTypes: 1 }],
    };
    expect(() => assignEnsemble([a, b], 1, 3)).toThrow(/other institutions or types/);
    expect(() => assignEnsemble([a], 2, 3)).toThrow(/expected 2/);
    expect(() => assignEnsemble([], 1, 3)).toThrow(/no members/);
  });
});
