import { maskedWords, maskRange, type MaskPlan } from '@fl/secure-agg';
import type { MaskedUpdate } from './messages';

/**
 * Secure aggregation's institution step, run where the institution trained (its worker thread in
 * the embedded federation, its worker process in the platform): the round's update, params minus
 * the global model it started from, fixed-point encoded and masked by the round's plan in one
 * chunked pass. `out` is reused across rounds (a fresh buffer costs page faults every round).
 */
export function maskUpdate(
  params: Float32Array,
  global: Float32Array,
  plan: MaskPlan,
  out?: Uint32Array,
): MaskedUpdate {
  const started = performance.now();
  const words = maskedWords(plan);
  const vector = out && out.length === words ? out : new Uint32Array(words);
  const outOfRange = maskRange(params, vector, plan, 0, words, global);
  return { vector, outOfRange, maskingMs: performance.now() - started };
}
