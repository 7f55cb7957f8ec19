/**
 * The slow path of number reading: the byte tokenizer parses the common forms
 * (`0`, `1.7985`, `2e-3`) itself and sends everything else here, as text, to be
 * either converted (long mantissas, big exponents, padding spaces, quoted
 * numbers) or explained (why it is not an acceptable value).
 */
export type NumberCheck = { ok: true; value: number } | { ok: false; problem: string };

/** Decimal numbers only: no hex, no `1_000`, no bare `.`; what CSV writers emit. */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const NOT_A_NUMBER = /^[+-]?nan$/i;
const INFINITE = /^[+-]?inf(?:inity)?$/i;

/**
 * Checks one field as an expression value or count: a finite number >= 0.
 * `problem` is phrased to follow "value ... in column X".
 */
export function checkNumberText(text: string): NumberCheck {
  const t = text.trim();
  if (t === '') return { ok: false, problem: 'empty value; expected a number (write 0 for none)' };
  if (DECIMAL.test(t)) {
    const value = Number(t);
    if (!Number.isFinite(value)) return { ok: false, problem: `"${t}" is too large to be a number` };
    return checkValue(value, t);
  }
  if (NOT_A_NUMBER.test(t) || INFINITE.test(t)) {
    return {
      ok: false,
      problem: `"${t}" is not allowed; values must be finite numbers (no NaN or Infinity)`,
    };
  }
  return { ok: false, problem: `"${clip(t)}" is not a number` };
}

/** Negative values cannot be log-normalised expression or counts. */
export function checkValue(value: number, text?: string): NumberCheck {
  if (value < 0) {
    return {
      ok: false,
      problem: `${text ?? String(value)} is negative; values must be >= 0 (counts or ln(1 + x) of normalised counts)`,
    };
  }
  // -0 becomes 0 so that later `x > 0` sparsity tests and printing behave.
  return { ok: true, value: value === 0 ? 0 : value };
}

function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}
