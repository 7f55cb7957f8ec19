import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';

export type { RandomGenerator };

/** A 32-bit finaliser (murmur3 fmix32): spreads every input bit over the whole word. */
function mix32(x: number): number {
  let h = x | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/**
 * A seeded xoroshiro128+ generator (pure-rand, mutable in v8).
 *
 * pure-rand's own `xoroshiro128plus(seed)` starts from the state (-1, ~seed, seed, 0), whose first
 * outputs are the seed itself; we hash the seed (any safe integer, low and high 32 bits) into the
 * four state words instead, so neighbouring seeds give unrelated streams from the first draw.
 *
 * @param seed an integer (safe integer range); the same seed always gives the same stream.
 */
export function createRng(seed: number): RandomGenerator {
  if (!Number.isSafeInteger(seed)) {
    throw new Error(`createRng: seed must be a safe integer, got ${seed}`);
  }
  const lo = seed | 0;
  const hi = Math.floor(seed / 4294967296) | 0;
  const state = [
    mix32(lo ^ 0x9e3779b9),
    mix32(hi ^ 0x7f4a7c15),
    mix32(lo + 0x6a09e667 + mix32(hi)),
    mix32(hi + 0xbb67ae85 + mix32(lo)),
  ];
  if ((state[0] | state[1] | state[2] | state[3]) === 0) state[0] = 1; // the all-zero state is the one fixed point
  return xoroshiro128plusFromState(state);
}

/** Rebuilds a generator from `rng.getState()` of a generator made by {@link createRng}. */
export function rngFromState(state: readonly number[]): RandomGenerator {
  if (state.length !== 4 || !state.every((s) => Number.isInteger(s))) {
    throw new Error('rngFromState: expected the 4 integers of a xoroshiro128+ state');
  }
  return xoroshiro128plusFromState(state);
}
