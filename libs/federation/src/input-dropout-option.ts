import { InputError } from '@fl/formats';

/** The largest gene dropout accepted: beyond it a step sees almost nothing of its cells. */
export const MAX_INPUT_DROPOUT = 0.9;

/** Whether `rate` is a valid `inputDropout`: a number from 0 (none) to MAX_INPUT_DROPOUT. */
export function isInputDropout(rate: number): boolean {
  return Number.isFinite(rate) && rate >= 0 && rate <= MAX_INPUT_DROPOUT;
}

/** Whether `fraction` is a valid `inputDropoutMinDetection`: 0 (every institution) to 1. */
export function isDetectionFraction(fraction: number): boolean {
  return Number.isFinite(fraction) && fraction >= 0 && fraction <= 1;
}

export function checkInputDropoutMinDetection(fraction: number | undefined): void {
  if (fraction === undefined || isDetectionFraction(fraction)) return;
  throw new InputError(
    `inputDropoutMinDetection must be a fraction from 0 (every institution) to 1, got ${fraction}`,
  );
}

export function checkInputDropout(rate: number | undefined): void {
  if (rate === undefined || isInputDropout(rate)) return;
  throw new InputError(`inputDropout must be a number from 0 (none) to ${MAX_INPUT_DROPOUT}, got ${rate}`);
}
