import type { LaneBits } from '@fl/secure-agg';

/**
 * How a secure round's update is encoded: the fixed point's lane width and clipping range. The
 * embedded federation and the platform's aggregator and workers all derive them here, from the
 * federation's options, so every party encodes, decodes and applies the same bits.
 *
 * Why the update and not the weights: a round moves each parameter by a few learning rates at
 * most, so the update needs a far smaller range than the weights (clip 8), and 16-bit lanes carry
 * it with a resolution of ~0.07% of the learning rate for three institutions (see fixed-point.ts and docs/security.md).
 */

/** The default lane width of masked updates (`--secagg-bits`). */
export const DEFAULT_SECAGG_BITS: LaneBits = 16;

/**
 * The largest |parameter change| one Adam step can make, in learning rates, for PyTorch's default
 * betas (0.9, 0.999): |m_t| <= (1 - b1) / sqrt(1 - b2) * sqrt(v_t) * sqrt(1 / (1 - b1^2 / b2))
 * (Cauchy-Schwarz on the two moving averages) = 3.16 * 2.30 = 7.27, and the bias corrections only
 * shrink it after step 1 (where it is exactly 1). So an update clipped at 8 lr per local step is
 * never clipped by Adam itself; a clipped value means a NaN or an anomaly, and is counted.
 */
export const ADAM_STEP_BOUND = 8;

/** Clipping range of a round's update: ADAM_STEP_BOUND x learning rate x local steps. */
export function updateClip(learningRate: number, localSteps: number): number {
  if (!(learningRate > 0) || !Number.isFinite(learningRate))
    throw new RangeError(`updateClip: learning rate must be > 0, got ${learningRate}`);
  if (!Number.isInteger(localSteps) || localSteps < 1)
    throw new RangeError(`updateClip: local steps must be a positive integer, got ${localSteps}`);
  return ADAM_STEP_BOUND * learningRate * localSteps;
}
