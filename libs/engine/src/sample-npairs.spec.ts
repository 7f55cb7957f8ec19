import { describe, expect, it } from 'vitest';
import { createRng } from './rng';
import { sampleNPairs } from './sample-npairs';

describe('sampleNPairs', () => {
  const groups = [Int32Array.from([4, 7, 9]), Int32Array.from([0, 1]), Int32Array.from([2, 3, 5, 6, 8])];

  it('should pick two distinct cells of each group, in group order', () => {
    const rng = createRng(1);
    const anchors = new Int32Array(3);
    const positives = new Int32Array(3);
    for (let draw = 0; draw < 500; draw++) {
      sampleNPairs(rng, groups, anchors, positives);
      groups.forEach((cells, c) => {
        expect(cells).toContain(anchors[c]);
        expect(cells).toContain(positives[c]);
        expect(anchors[c]).not.toBe(positives[c]);
      });
    }
  });

  it('should make every ordered pair equally likely', () => {
    // A group of 3 has 3 * 2 = 6 ordered pairs; 12,000 draws give 2,000 each on average
    // (standard deviation sqrt(12000 * (1/6) * (5/6)) ~ 41).
    const rng = createRng(2);
    const anchors = new Int32Array(1);
    const positives = new Int32Array(1);
    const counts = new Map<string, number>();
    for (let draw = 0; draw < 12_000; draw++) {
      sampleNPairs(rng, [groups[0]], anchors, positives);
      const key = `${anchors[0]}-${positives[0]}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(counts.size).toBe(6);
    for (const count of counts.values()) expect(Math.abs(count - 2000)).toBeLessThan(5 * 41);
  });

  it('should be reproducible from the seed', () => {
    const draw = (seed: number) => {
      const rng = createRng(seed);
      const a = new Int32Array(3);
      const p = new Int32Array(3);
      const out: number[] = [];
      for (let i = 0; i < 20; i++) {
        sampleNPairs(rng, groups, a, p);
        out.push(...a, ...p);
      }
      return out;
    };
    expect(draw(5)).toEqual(draw(5));
    expect(draw(5)).not.toEqual(draw(6));
  });

  it('should reject a group with fewer than 2 cells', () => {
    expect(() =>
      sampleNPairs(createRng(1), [Int32Array.from([3])], new Int32Array(1), new Int32Array(1)),
    ).toThrow(/sampleNPairs: group 0/);
  });
});
