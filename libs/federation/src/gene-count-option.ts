import { InputError } from '@fl/formats';

// The rules for gene counts, without the gene selection's imports (secure aggregation), so that
// a bundle check in a validation thread can use them.

/** The fewest genes per institution a model may be trained on when genes are chosen (0: every gene). */
export const MIN_VARIABLE_GENES = 50;

/** The most genes per cell `variableGenesPerCell` takes (a bound on nonsense, not a recommendation). */
export const MAX_GENES_PER_CELL = 10000;

/** Whether `x` is a valid `variableGenesPerCell`: 0 (no cap) or a whole number from 1 to MAX_GENES_PER_CELL. */
export function isGenesPerCell(x: number): boolean {
  return x === 0 || (Number.isInteger(x) && x >= 1 && x <= MAX_GENES_PER_CELL);
}

export function checkGenesPerCell(x: number | undefined): void {
  if (x === undefined || isGenesPerCell(x)) return;
  throw new InputError(
    `variableGenesPerCell must be 0 (no cap) or a whole number from 1 to ${MAX_GENES_PER_CELL}, got ${x}`,
  );
}
