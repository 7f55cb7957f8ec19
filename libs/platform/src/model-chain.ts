import { applyMeanUpdateRange, fixedPoint, wordsFor, type LaneBits } from '@fl/secure-agg';
import type { ObjectRef } from './model-objects';

/**
 * Compact broadcast under secure aggregation (issue 8): after a round the aggregator publishes
 * the unmasked SUM of the institutions' encoded updates (b-bit lanes, b/8 bytes per parameter),
 * not the next model (4 bytes per parameter). Every party, the aggregator included, decodes it
 * the same way and adds it to the model it holds, so all hold the same bits, and the distributed
 * run equals the embedded one (SecureFedAvg does exactly this).
 *
 * A federation's global model is therefore a chain: the last full float32 model stored (round 0,
 * or the last checkpoint the retention policy keeps) and the aggregates of the rounds since.
 * A worker that already holds the model of some round in the chain applies only the aggregates
 * after it; one that holds nothing (new, restarted) reads the full model and applies them all.
 */

/** One round's published aggregate: an object of packed words, plus what decoding needs. */
export interface AggregateRef extends ObjectRef {
  round: number;
  /** Sum of the survivors' public weights (their count, for uniform averaging). */
  totalWeight: number;
}

/** How updates are encoded: the same at every party of the federation. */
export interface UpdateEncoding {
  bits: LaneBits;
  clip: number;
  /** The roster size K the fixed point's scale is chosen for. */
  maxSummands: number;
}

/** model += decoded mean update of one round's aggregate, in place. */
export function applyAggregate(
  model: Float32Array,
  words: Uint32Array,
  encoding: UpdateEncoding,
  totalWeight: number,
): void {
  const fp = fixedPoint(encoding.maxSummands, encoding.clip, encoding.bits);
  applyMeanUpdateRange(words, fp, totalWeight, model);
}

/** The aggregate's bytes as stored (little-endian words). */
export function encodeAggregate(sum: Uint32Array): Uint8Array {
  return new Uint8Array(sum.buffer, sum.byteOffset, sum.byteLength);
}

/** Words from a stored aggregate of `parameters` values at `bits`, length-checked (names `what`). */
export function decodeAggregate(
  data: Uint8Array,
  parameters: number,
  bits: LaneBits,
  what: string,
): Uint32Array {
  const words = wordsFor(parameters, bits);
  if (data.byteLength !== words * 4) {
    throw new Error(
      `${what}: ${data.byteLength} bytes, expected ${words * 4} (${parameters} ${bits}-bit values)`,
    );
  }
  const out = new Uint32Array(words);
  new Uint8Array(out.buffer).set(data);
  return out;
}
