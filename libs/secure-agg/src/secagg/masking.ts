import { wordsFor, type FixedPoint } from './fixed-point';
import { applyMaskStreams, encodeAndMask, type MaskStream } from './prg';

/**
 * The institution's per-round number crunching, as plain functions on typed arrays so it can run
 * in the institution's own worker thread (a MaskPlan is structured-cloneable) and on any split of
 * the parameter range (counter-mode masks are seekable; every element is computed the same way).
 *
 *   y = encode(x - base) + PRG(b_u^r) + sum_{v after u} PRG(s_uv, r) - sum_{v before u} PRG(s_uv, r)
 *
 * lane by lane mod 2^b (b = the fixed point's bits), where base is the global model the round
 * started from (update mode) or absent (weights mode). `plan.length` counts elements; the masked
 * vector has wordsFor(length, bits) words, and every range below is in words.
 *
 * Two ways to run it:
 * - `maskRange`: encode and mask in one chunked pass (each chunk is encoded, then every mask
 *   stream is added while the chunk is in cache).
 * - `precomputeMaskRange` then `encodeAddMaskRange`: the masks do not depend on the data, so an
 *   institution can build the round's combined mask while it waits (for the other institutions,
 *   for the aggregator, for the next model) and pay only one encode-and-add pass once its local
 *   training is done. Same bits either way.
 */

/** Everything a worker needs to mask one round's vector. Contains secret keys: institution-local. */
export interface MaskPlan {
  readonly round: number;
  /** Elements (parameters) of the input; the masked vector has wordsFor(length, bits) words. */
  readonly length: number;
  readonly weight: number;
  readonly fixedPoint: FixedPoint;
  readonly streams: readonly MaskStream[];
}

/** Words of the masked vector a plan produces. */
export function maskedWords(plan: MaskPlan): number {
  return wordsFor(plan.length, plan.fixedPoint.bits);
}

/**
 * out[lo, hi) = encode(x - base) + masks (words). Returns the number of clipped values in the range.
 * `base` (update mode): the global model the round started from.
 */
export function maskRange(
  x: Float32Array,
  out: Uint32Array,
  plan: MaskPlan,
  lo = 0,
  hi = out.length,
  base?: Float32Array,
): number {
  checkLengths(plan, x, out, base);
  return encodeAndMask(out, plan.streams, { x, base, fp: plan.fixedPoint, weight: plan.weight }, lo, hi);
}

/** mask[lo, hi) = the sum of the plan's signed mask streams (data-independent). */
export function precomputeMaskRange(mask: Uint32Array, plan: MaskPlan, lo = 0, hi = mask.length): void {
  if (mask.length !== maskedWords(plan))
    throw new RangeError(`precomputeMask: ${mask.length} words for a ${plan.length} plan`);
  mask.fill(0, lo, hi);
  applyMaskStreams(mask, plan.streams, lo, hi, plan.fixedPoint.bits);
}

/** out[lo, hi) = encode(x - base) + mask, one pass. `out` may be `mask` itself. Returns clipped count. */
export function encodeAddMaskRange(
  x: Float32Array,
  mask: Uint32Array,
  out: Uint32Array,
  plan: MaskPlan,
  lo = 0,
  hi = out.length,
  base?: Float32Array,
): number {
  checkLengths(plan, x, out, base);
  if (mask.length !== maskedWords(plan)) throw new RangeError(`encodeAddMask: mask of ${mask.length} words`);
  return encodeAndMask(out, [], { x, base, fp: plan.fixedPoint, weight: plan.weight, addend: mask }, lo, hi);
}

function checkLengths(plan: MaskPlan, x: Float32Array, out: Uint32Array, base?: Float32Array): void {
  if (x.length !== plan.length || out.length !== maskedWords(plan) || (base && base.length !== x.length)) {
    throw new RangeError(
      `mask: vectors of ${x.length}${base ? ` (base ${base.length})` : ''} and ${out.length} words ` +
        `for a plan of ${plan.length} parameters at ${plan.fixedPoint.bits} bits`,
    );
  }
  if (!(plan.weight > 0 && plan.weight <= 1))
    throw new RangeError(`mask: weight ${plan.weight} not in (0, 1]`);
}
