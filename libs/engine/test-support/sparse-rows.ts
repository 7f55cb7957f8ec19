import { createRng } from '../src/rng';

/**
 * cells x F of log-normalised-looking values for tests: each entry non-zero with probability
 * `density` (log1p of a small count), seeded.
 */
export function sparseRows(nCells: number, f: number, density: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const values = new Float32Array(nCells * f);
  const threshold = Math.floor(density * 4294967296) - 2147483648;
  for (let i = 0; i < values.length; i++) {
    if (rng.next() < threshold) values[i] = Math.log1p(1 + ((rng.next() >>> 0) % 20));
  }
  return values;
}
