import { InvalidArgumentError } from 'commander';
import { availableParallelism } from 'node:os';
import {
  isDetectedValuesPerGene,
  isDetectionFraction,
  isInputDropout,
  isGenesPerCell,
  isVariableGeneCount,
  MAX_DETECTED_VALUES_PER_GENE,
  MAX_GENES_PER_CELL,
  MAX_INPUT_DROPOUT,
  MIN_VARIABLE_GENES,
} from '@fl/federation';

/** Commander argument parsers that name the option and what was expected. */
export function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1)
      throw new InvalidArgumentError(`${name} must be a whole number >= 1, got "${value}"`);
    return n;
  };
}

export function intInRange(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}, got "${value}"`);
    return n;
  };
}

export function nonNegativeInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0)
      throw new InvalidArgumentError(`${name} must be a whole number >= 0, got "${value}"`);
    return n;
  };
}

/** `--input-dropout`: the library's rule (0, none, up to MAX_INPUT_DROPOUT). */
export function inputDropoutOption(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !isInputDropout(n))
    throw new InvalidArgumentError(
      `--input-dropout must be a number from 0 (none) to ${MAX_INPUT_DROPOUT}, got "${value}"`,
    );
  return n;
}

/** `--input-dropout-min-detection`: a fraction from 0 (every institution) to 1. */
export function detectionFractionOption(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !isDetectionFraction(n))
    throw new InvalidArgumentError(
      `--input-dropout-min-detection must be a fraction from 0 (every institution) to 1, got "${value}"`,
    );
  return n;
}

/** `--variable-genes`: the library's rule (0, every gene, or at least MIN_VARIABLE_GENES). */
export function variableGenesOption(value: string): number {
  const n = Number(value);
  if (!isVariableGeneCount(n))
    throw new InvalidArgumentError(
      `--variable-genes must be 0 (every gene) or a whole number of at least ${MIN_VARIABLE_GENES}, got "${value}"`,
    );
  return n;
}

/** A parser for a gene cap: the library's rule `isCap` (0, no cap, or a whole number from 1 to max). */
function capOption(flag: string, isCap: (x: number) => boolean, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !isCap(n))
      throw new InvalidArgumentError(
        `${flag} must be 0 (no cap) or a whole number from 1 to ${max}, got "${value}"`,
      );
    return n;
  };
}

/** `--detected-values-per-gene`. */
export const detectedValuesPerGeneOption = capOption(
  '--detected-values-per-gene',
  isDetectedValuesPerGene,
  MAX_DETECTED_VALUES_PER_GENE,
);

/** `--variable-genes-per-cell`. */
export const genesPerCellOption = capOption('--variable-genes-per-cell', isGenesPerCell, MAX_GENES_PER_CELL);

export function positiveNumber(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0)
      throw new InvalidArgumentError(`${name} must be a number > 0, got "${value}"`);
    return n;
  };
}

/** `--reject-threshold`: a Pearson correlation, or `auto` (per predicted type, from the query's own confidences). */
export function correlationThreshold(value: string): number | 'auto' {
  if (value.trim().toLowerCase() === 'auto') return 'auto';
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < -1 || n > 1) {
    throw new InvalidArgumentError(
      `--reject-threshold is a Pearson correlation between -1 and 1, or "auto", got "${value}"`,
    );
  }
  return n;
}

export const REJECT_THRESHOLD_HELP =
  'label cells whose best correlation is below r as "unassigned"; "auto" chooses r per predicted type from the query itself (docs/algorithm.md)';

export const BACKENDS = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;

export function backendName(value: string): string {
  if (!(BACKENDS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`--backend must be one of ${BACKENDS.join(', ')}, got "${value}"`);
  }
  return value;
}

export const defaultThreads = (): number => Math.max(1, availableParallelism());

export function fraction(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0 || n > 1) {
      throw new InvalidArgumentError(`${name} must be a fraction between 0 and 1, got "${value}"`);
    }
    return n;
  };
}
