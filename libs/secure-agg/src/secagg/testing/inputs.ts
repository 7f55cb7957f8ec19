/** TEST-ONLY helpers: reproducible parameter vectors and plain (float64) means to compare against. */

/** Values uniform in (-amplitude, amplitude) from a small LCG (fast enough for 10 M parameters). */
export function syntheticParams(n: number, seed: number, amplitude = 0.9): Float32Array {
  const x = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0;
  const f = (2 * amplitude) / 2 ** 32;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = s * f - amplitude;
  }
  return x;
}

export function syntheticInputs(
  names: readonly string[],
  n: number,
  seed = 1,
  amplitude = 0.9,
): Map<string, Float32Array> {
  return new Map(names.map((id, u) => [id, syntheticParams(n, seed * 1000 + u + 1, amplitude)]));
}

/** The float64 mean of `which` inputs. */
export function plainMean(inputs: ReadonlyMap<string, Float32Array>, which: readonly string[]): Float64Array {
  const n = inputs.get(which[0])!.length;
  const out = new Float64Array(n);
  for (const id of which) {
    const x = inputs.get(id)!;
    for (let i = 0; i < n; i++) out[i] += x[i];
  }
  for (let i = 0; i < n; i++) out[i] /= which.length;
  return out;
}

/**
 * The largest excess of |secure - plain| over the documented per-element bound
 * (quantisation bound + float32 rounding of the result); <= 0 means within the bound everywhere.
 */
export function worstExcess(secure: Float32Array, plain: Float64Array, quantisation: number): number {
  let worst = -Infinity;
  for (let i = 0; i < secure.length; i++) {
    const excess = Math.abs(secure[i] - plain[i]) - (quantisation + Math.abs(plain[i]) * 2 ** -24);
    if (excess > worst) worst = excess;
  }
  return worst;
}
