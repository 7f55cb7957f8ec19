/**
 * Fixed-point encoding of float parameters into b-bit lanes (b = 8, 16 or 32), so that sums are
 * exact modular integer sums: the aggregate is the same bits whatever order inputs arrive in, and
 * masks that are uniform mod 2^b hide each input completely.
 *
 * Encoding: e = round(w * clip(x, -c, c) * scale), stored as a two's complement b-bit lane
 * (arithmetic mod 2^b). Lanes are packed little-endian into 32-bit words (32 / b per word; lane j
 * of word i is element i * 32/b + j; the last word's unused lanes encode 0), so every vector
 * travels and is summed as words whatever b is. The scale is the largest integer for which the
 * sum of up to `maxSummands` encoded values (each |e| <= c*scale + 1/2 with weights w in (0, 1])
 * stays inside the signed b-bit range, so the modular sum, read back as a signed integer, IS the
 * integer sum:
 *
 *   scale = floor((2^(b-1) - 1 - K) / (c * K))          K = maxSummands
 *
 * Weights mode (b = 32, c = 8, Flower's SecAgg+ clipping range; parameters here are |w| < 1):
 * K = 10 gives scale = 26 843 545, a resolution of 3.7e-8, finer than float32 for [0.5, 1).
 * Update mode (the federation masks each round's update, local model minus global model, whose
 * entries are at most a few learning rates: see docs/security.md): b = 16, c = 8 * lr * steps,
 * e.g. lr 5e-4, one step, K = 3 gives scale = 2 730 333, a resolution of 3.7e-7 (0.07% of lr).
 *
 * Error bound, per element, for survivors S with weights w_u (sum W):
 *   |mean_secure - mean_plain| <= |S| / (2 * scale * W)  +  2^-24 |mean|  +  clipping error
 * (each encoded term is off by at most 1/2 unit; the sum is exact; the mean is rounded to
 * float32 once). Uniform weights (W = |S|) give 1/(2 scale) + float32 rounding: 1.9e-8 for K = 10.
 * The clipping error is zero for values inside [-c, c]; values outside are clipped, counted and
 * reported (`outOfRange`) so the caller can surface them. NaN encodes as 0 and is counted too.
 */

/** Bits per encoded value: the modulus is 2^bits. */
export type LaneBits = 8 | 16 | 32;
export const LANE_BITS: readonly LaneBits[] = [8, 16, 32];

export interface FixedPoint {
  /** Lane width: values are b-bit two's complement integers, packed 32 / b per word. */
  readonly bits: LaneBits;
  /** Clipping range: values are clipped to [-clip, clip]. */
  readonly clip: number;
  /** Integer units per 1.0. */
  readonly scale: number;
  /** The largest total weight (number of unit-weight summands) the scale was chosen for. */
  readonly maxSummands: number;
}

export const DEFAULT_CLIP = 8;

export function isLaneBits(b: unknown): b is LaneBits {
  return b === 8 || b === 16 || b === 32;
}

export function fixedPoint(maxSummands: number, clip = DEFAULT_CLIP, bits: LaneBits = 32): FixedPoint {
  if (!Number.isInteger(maxSummands) || maxSummands < 1) {
    throw new RangeError(`fixedPoint: maxSummands must be a positive integer, got ${maxSummands}`);
  }
  if (!(clip > 0) || !Number.isFinite(clip))
    throw new RangeError(`fixedPoint: clip must be > 0, got ${clip}`);
  if (!isLaneBits(bits)) throw new RangeError(`fixedPoint: bits must be 8, 16 or 32, got ${bits}`);
  const scale = Math.floor((2 ** (bits - 1) - 1 - maxSummands) / (clip * maxSummands));
  if (scale < 1) {
    throw new RangeError(
      `fixedPoint: clip ${clip} x ${maxSummands} summands leaves no resolution at ${bits} bits`,
    );
  }
  return { bits, clip, scale, maxSummands };
}

/** Elements per 32-bit word at this lane width. */
export function lanesPerWord(bits: LaneBits): number {
  return 32 / bits;
}

/** Words holding `n` elements of `bits` bits (the last one padded with zero lanes). */
export function wordsFor(n: number, bits: LaneBits): number {
  return Math.ceil(n / lanesPerWord(bits));
}

export type LaneArray = Int8Array | Int16Array | Int32Array;

/**
 * A signed view of the words' lanes (element i = lane i): two's complement, so adds wrap mod 2^b
 * either way (typed-array stores reduce mod 2^b).
 */
export function laneView(words: Uint32Array, bits: LaneBits): LaneArray {
  const n = words.length * lanesPerWord(bits);
  if (bits === 32) return new Int32Array(words.buffer, words.byteOffset, n);
  if (bits === 16) return new Int16Array(words.buffer, words.byteOffset, n);
  return new Int8Array(words.buffer, words.byteOffset, n);
}

/** A signed view on the same words: two's complement, so adds wrap mod 2^32 either way. */
export function asInt32(words: Uint32Array): Int32Array {
  return new Int32Array(words.buffer, words.byteOffset, words.length);
}

/**
 * Encodes (x - base)[lo, hi) times `weight` (in (0, 1]) into lanes [lo, hi) of `words` (elements,
 * not words; base absent = 0). The difference is taken in float32, as the SIMD kernel does.
 * Returns how many values were outside [-clip, clip] (or NaN) and were clipped. A plain typed-array
 * loop, safe to run on any sub-range in any thread.
 */
export function encodeRange(
  x: Float32Array,
  words: Uint32Array,
  fp: FixedPoint,
  weight = 1,
  lo = 0,
  hi = x.length,
  base?: Float32Array,
): number {
  checkWeight(weight);
  const out = laneView(words, fp.bits);
  if (fp.bits < 32) return encodeRange32f(x, out, fp, weight, lo, hi, base);
  const c = fp.clip;
  const m = weight * fp.scale;
  let clipped = 0;
  for (let i = lo; i < hi; i++) {
    let v = base ? Math.fround(x[i] - base[i]) : x[i];
    if (v > c || v < -c || v !== v) {
      clipped++;
      v = v > c ? c : v < -c ? -c : 0;
    }
    out[i] = Math.floor(v * m + 0.5); // round half up: V8 runs floor ~3x faster than Math.round
  }
  return clipped;
}

/**
 * Lanes of 16 bits and fewer are encoded in float32 arithmetic, as the SIMD kernel does it four at
 * a time: e = nearest_even(fround(clip_f32(v) * fround(w * scale))). Float32 is exact enough here:
 * |e| < 2^15, so the product's rounding (2^-24 relative) moves e by < 0.002 of a unit.
 */
function encodeRange32f(
  x: Float32Array,
  out: LaneArray,
  fp: FixedPoint,
  weight: number,
  lo: number,
  hi: number,
  base: Float32Array | undefined,
): number {
  const c = Math.fround(fp.clip);
  const m = Math.fround(weight * fp.scale);
  let clipped = 0;
  for (let i = lo; i < hi; i++) {
    let v = base ? Math.fround(x[i] - base[i]) : x[i];
    if (v > c || v < -c || v !== v) {
      clipped++;
      v = v > c ? c : v < -c ? -c : 0;
    }
    out[i] = roundHalfEven(Math.fround(v * m));
  }
  return clipped;
}

/** Round half to even (WebAssembly's f32x4.nearest), for values far below 2^52. */
export function roundHalfEven(s: number): number {
  const r = Math.round(s); // half up
  return r - s === 0.5 && (r & 1) !== 0 ? r - 1 : r;
}

/** Encodes a whole vector into fresh words. */
export function encode(
  x: Float32Array,
  fp: FixedPoint,
  weight = 1,
): { words: Uint32Array; outOfRange: number } {
  const words = new Uint32Array(wordsFor(x.length, fp.bits));
  const outOfRange = encodeRange(x, words, fp, weight);
  return { words, outOfRange };
}

/**
 * out[lo, hi) = signed(sum) / (scale * totalWeight): the (weighted) mean from the exact modular
 * sum of the survivors' encodings. `totalWeight` is the number of survivors for uniform weights.
 * Ranges are elements (lanes).
 */
export function decodeMeanRange(
  sum: Uint32Array,
  fp: FixedPoint,
  totalWeight: number,
  out: Float32Array,
  lo = 0,
  hi = out.length,
): void {
  const s = checkedLanes(sum, fp, totalWeight, out.length);
  const inv = 1 / (fp.scale * totalWeight);
  for (let i = lo; i < hi; i++) out[i] = s[i] * inv;
}

/**
 * target[lo, hi) += signed(sum) / (scale * totalWeight): applies a decoded mean UPDATE to the model
 * it was computed against, rounding once to float32. Every party that holds the same model and the
 * same aggregate (the aggregator, every institution, the embedded run) gets the same bits.
 */
export function applyMeanUpdateRange(
  sum: Uint32Array,
  fp: FixedPoint,
  totalWeight: number,
  target: Float32Array,
  lo = 0,
  hi = target.length,
): void {
  const s = checkedLanes(sum, fp, totalWeight, target.length);
  const inv = 1 / (fp.scale * totalWeight);
  for (let i = lo; i < hi; i++) target[i] += s[i] * inv;
}

export function decodeMean(
  sum: Uint32Array,
  fp: FixedPoint,
  totalWeight: number,
  n = sum.length * lanesPerWord(fp.bits),
): Float32Array {
  const out = new Float32Array(n);
  decodeMeanRange(sum, fp, totalWeight, out);
  return out;
}

function checkedLanes(sum: Uint32Array, fp: FixedPoint, totalWeight: number, n: number): LaneArray {
  if (!(totalWeight > 0)) throw new RangeError(`decodeMean: total weight must be > 0, got ${totalWeight}`);
  if (totalWeight > fp.maxSummands + 1e-9) {
    throw new RangeError(
      `decodeMean: total weight ${totalWeight} exceeds the ${fp.maxSummands} the scale allows`,
    );
  }
  if (wordsFor(n, fp.bits) !== sum.length) {
    throw new RangeError(`decodeMean: ${sum.length} words cannot hold ${n} ${fp.bits}-bit values`);
  }
  return laneView(sum, fp.bits);
}

/**
 * The quantisation part of the error bound for `summands` survivors of total weight
 * `totalWeight` (see the header). Add 2^-24 |mean| for the float32 result, plus clipping error.
 */
export function quantisationBound(fp: FixedPoint, summands: number, totalWeight = summands): number {
  return summands / (2 * fp.scale * totalWeight);
}

function checkWeight(weight: number): void {
  if (!(weight > 0 && weight <= 1))
    throw new RangeError(`fixed point: weight must be in (0, 1], got ${weight}`);
}
