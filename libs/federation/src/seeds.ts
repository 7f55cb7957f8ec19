/**
 * Derives independent 32-bit seeds from the run's seed, so each institution's sampling
 * stream is fixed by (seed, institution index) alone and no two institutions share one.
 * splitmix32-style mixing.
 */
export function deriveSeed(seed: number, stream: number): number {
  let z = (Math.imul(seed | 0, 0x9e3779b1) + Math.imul(stream + 1, 0x85ebca6b)) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0;
}

/**
 * The seed of ensemble member k: member 0 keeps the run's seed (an ensemble of one is the
 * single model), the others take streams far above any institution index.
 */
export function ensembleSeed(seed: number, member: number): number {
  return member === 0 ? seed : deriveSeed(seed, 1_000_000 + member);
}
