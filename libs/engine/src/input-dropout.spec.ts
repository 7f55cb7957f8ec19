import { describe, expect, it } from 'vitest';
import { dropInputs } from './input-dropout';
import { createRng, type RandomGenerator } from './rng';

/** A generator that replays fixed 32-bit outputs and counts the draws. */
function scripted(outputs: number[]): RandomGenerator & { draws: number } {
  const rng = {
    draws: 0,
    next() {
      return outputs[rng.draws++];
    },
    clone() {
      return rng;
    },
    getState() {
      return [rng.draws];
    },
  };
  return rng;
}

describe('dropInputs', () => {
  it('should drop exactly the non-zero values whose draw falls below rate x 2^32', () => {
    // rate 0.25: cut 2^30. Draws (as unsigned): 0 (drop), 2^30 (keep: not below), 2^30 - 1
    // (drop), 2^32 - 1 (keep, -1 as int32).
    const rng = scripted([0, 1 << 30, (1 << 30) - 1, -1]);
    const values = Float32Array.from([1, 0, 2, 3, 0, 4]);
    expect(dropInputs(rng, values, 0, 6, 0.25)).toBe(2);
    expect([...values]).toEqual([0, 0, 2, 0, 0, 4]);
    expect(rng.draws).toBe(4); // one per non-zero value, none for the zeros
  });

  it('should touch only values[from..to)', () => {
    const rng = scripted([0, 0]);
    const values = Float32Array.from([1, 2, 3, 4]);
    expect(dropInputs(rng, values, 1, 3, 0.5)).toBe(2);
    expect([...values]).toEqual([1, 0, 0, 4]);
  });

  it('should draw nothing and change nothing at rate 0', () => {
    const rng = scripted([]);
    const values = Float32Array.from([1, 2, 3]);
    expect(dropInputs(rng, values, 0, 3, 0)).toBe(0);
    expect([...values]).toEqual([1, 2, 3]);
    expect(rng.draws).toBe(0);
  });

  it('should drop about rate of the detected values, the same ones for the same seed', () => {
    const make = () => Float32Array.from({ length: 100_000 }, (_, i) => (i % 2 === 0 ? 1 + (i % 7) : 0));
    const a = make();
    const b = make();
    const dropped = dropInputs(createRng(7), a, 0, a.length, 0.2);
    dropInputs(createRng(7), b, 0, b.length, 0.2);
    expect(b).toEqual(a);
    // 50,000 detected values: binomial sd 89, so 0.2 +- 0.008 is 4.5 sd.
    expect(Math.abs(dropped / 50_000 - 0.2)).toBeLessThan(0.008);
    let detectedInZeros = 0;
    for (let i = 1; i < a.length; i += 2) if (a[i] !== 0) detectedInZeros++;
    expect(detectedInZeros).toBe(0);
  });

  it('should refuse a rate outside [0, 1) or a range outside the buffer', () => {
    const values = new Float32Array(4);
    expect(() => dropInputs(createRng(1), values, 0, 4, 1)).toThrow(/rate must be in \[0, 1\), got 1/);
    expect(() => dropInputs(createRng(1), values, 0, 4, Number.NaN)).toThrow(/rate/);
    expect(() => dropInputs(createRng(1), values, 3, 5, 0.1)).toThrow(/0 <= from <= to <= 4/);
  });
});
