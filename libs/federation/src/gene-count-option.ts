import { InputError } from '@fl/formats';

// The rules for gene counts, without the gene selection's imports (secure aggregation), so that
// a bundle check in a validation thread can use them.

/** The fewest genes per institution a model may be trained on when genes are chosen (0: every gene). */
export const MIN_VARIABLE_GENES = 50;

/** The most genes per cell `variableGenesPerCell` takes (a bound on nonsense, not a recommendation). */
export const MAX_GENES_PER_CELL = 10000;

/** A cap's rule: 0 (no cap) or a whole number from 1 to `max`. */
function capRule(field: string, max: number) {
  const is = (x: number): boolean => x === 0 || (Number.isInteger(x) && x >= 1 && x <= max);
  const check = (x: number | undefined): void => {
    if (x === undefined || is(x)) return;
    throw new InputError(`${field} must be 0 (no cap) or a whole number from 1 to ${max}, got ${x}`);
  };
  return { is, check };
}

/** The most detected values per gene `detectedValuesPerGene` takes (a bound on nonsense). */
export const MAX_DETECTED_VALUES_PER_GENE = 1_000_000;

const genesPerCell = capRule('variableGenesPerCell', MAX_GENES_PER_CELL);
const detectedValuesPerGene = capRule('detectedValuesPerGene', MAX_DETECTED_VALUES_PER_GENE);

/** Whether `x` is a valid `variableGenesPerCell`: 0 (no cap) or a whole number from 1 to MAX_GENES_PER_CELL. */
export const isGenesPerCell = genesPerCell.is;
export const checkGenesPerCell = genesPerCell.check;

/** Whether `x` is a valid `detectedValuesPerGene`: 0 (no cap) or a whole number from 1 to MAX_DETECTED_VALUES_PER_GENE. */
export const isDetectedValuesPerGene = detectedValuesPerGene.is;
export const checkDetectedValuesPerGene = detectedValuesPerGene.check;
