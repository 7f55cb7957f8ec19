import { InputError } from '@fl/formats';

/** A bundle archive or one of its files over a cap (answered 413, not 400). */
export class BundleTooLargeError extends InputError {
  constructor(message: string) {
    super(message);
    // Kept across the validation thread's boundary, where only the name survives.
    this.name = 'BundleTooLargeError';
  }
}
