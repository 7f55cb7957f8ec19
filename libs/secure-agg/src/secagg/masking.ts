import type { FixedPoint } from './fixed-point';
import { applyMaskStreams, encodeAndMask, type MaskStream } from './prg';

/**
 * The institution's per-round number crunching, as plain functions on typed arrays so it can run
 * in the institution's own worker thread (a MaskPlan is structured-cloneable) and on any split of
 * the parameter range (counter-mode masks are seekable; every element is computed the same way).
 *
 *   y = encode(x) + PRG(b_u^r) + sum_{v after u} PRG(s_uv, r) - sum_{v before u} PRG(s_uv, r)   (mod 2^32)
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
  readonly length: number;
  readonly weight: number;
  readonly fixedPoint: FixedPoint;
  readonly streams: readonly MaskStream[];
}

/** out[lo, hi) = encode(x[lo, hi)) + masks. Returns the number of clipped values in the range. */
export function maskRange(x: Float32Array, out: Uint32Array, plan: MaskPlan, lo = 0, hi = x.length): number {
  checkLengths(plan, x, out);
  return encodeAndMask(out, plan.streams, { x, fp: plan.fixedPoint, weight: plan.weight }, lo, hi);
}

/** mask[lo, hi) = the sum of the plan's signed mask streams (data-independent). */
export function precomputeMaskRange(mask: Uint32Array, plan: MaskPlan, lo = 0, hi = mask.length): void {
  if (mask.length !== plan.length)
    throw new RangeError(`precomputeMask: ${mask.length} words for a ${plan.length} plan`);
  mask.fill(0, lo, hi);
  applyMaskStreams(mask, plan.streams, lo, hi);
}

/** out[lo, hi) = encode(x) + mask, one pass. `out` may be `mask` itself. Returns clipped count. */
export function encodeAddMaskRange(
  x: Float32Array,
  mask: Uint32Array,
  out: Uint32Array,
  plan: MaskPlan,
  lo = 0,
  hi = x.length,
): number {
  checkLengths(plan, x, out);
  if (mask.length !== plan.length) throw new RangeError(`encodeAddMask: mask of ${mask.length} words`);
  return encodeAndMask(out, [], { x, fp: plan.fixedPoint, weight: plan.weight, addend: mask }, lo, hi);
}

function checkLengths(plan: MaskPlan, x: Float32Array, out: Uint32Array): void {
  if (x.length !== plan.length || out.length !== plan.length) {
    throw new RangeError(
      `mask: vectors of ${x.length} and ${out.length} for a plan of ${plan.length} parameters`,
    );
  }
  if (!(plan.weight > 0 && plan.weight <= 1))
    throw new RangeError(`mask: weight ${plan.weight} not in (0, 1]`);
}
