/**
 * A mistake in a user's input file. The command line prints `message` without a
 * stack trace and exits non-zero; the message names the file (and line or field)
 * and says what was expected.
 */
export class InputError extends Error {
  constructor(
    message: string,
    readonly file?: string,
    readonly line?: number,
  ) {
    super(message);
    this.name = 'InputError';
  }
}
