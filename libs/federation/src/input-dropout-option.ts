import { InputError } from '@fl/formats';

/** The largest gene dropout accepted: beyond it a step sees almost nothing of its cells. */
export const MAX_INPUT_DROPOUT = 0.9;

/** Whether `rate` is a valid `inputDropout`: a number from 0 (none) to MAX_INPUT_DROPOUT. */
export function isInputDropout(rate: number): boolean {
  return Number.isFinite(rate) && rate >= 0 && rate <= MAX_INPUT_DROPOUT;
}

export function checkInputDropout(rate: number | undefined): void {
  if (rate === undefined || isInputDropout(rate)) return;
  throw new InputError(`inputDropout must be a number from 0 (none) to ${MAX_INPUT_DROPOUT}, got ${rate}`);
}
