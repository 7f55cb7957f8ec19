/**
 * Options of the published `preprocess` step (ALGORITHM.md §1) and their validation.
 * Defaults are the published ones; every threshold is strict ("more than", "less than").
 */
export type DuplicateGenesMode = 'error' | 'sum';

export interface QualityControlOptions {
  /** Keep cells with MORE than this many detected genes (count > 0). Published: 500. */
  minGenes?: number;
  /** Keep cells with MORE than this many total counts (UMIs). Published: 1500. */
  minCounts?: number;
  /** Keep cells with LESS than this fraction of counts in `MT-` genes. Published: 0.10. */
  maxMitoFraction?: number;
  /**
   * Duplicate gene names (compared case-insensitively, as everywhere in the gene space):
   * 'error' (default) refuses the file, 'sum' merges the columns keeping the first spelling.
   */
  duplicateGenes?: DuplicateGenesMode;
}

export interface PreprocessOptions extends QualityControlOptions {
  /** Each kept cell is scaled to this total before ln(1 + x). Published: 10,000. */
  targetSum?: number;
}

export const DEFAULT_MIN_GENES = 500;
export const DEFAULT_MIN_COUNTS = 1500;
export const DEFAULT_MAX_MITO_FRACTION = 0.1;
export const DEFAULT_TARGET_SUM = 10_000;

export type ResolvedQualityControlOptions = Required<QualityControlOptions>;

/** Fills in defaults and rejects impossible values, naming the option, before any work is done. */
export function resolveQualityControlOptions(
  opts: QualityControlOptions = {},
): ResolvedQualityControlOptions {
  const resolved: ResolvedQualityControlOptions = {
    minGenes: opts.minGenes ?? DEFAULT_MIN_GENES,
    minCounts: opts.minCounts ?? DEFAULT_MIN_COUNTS,
    maxMitoFraction: opts.maxMitoFraction ?? DEFAULT_MAX_MITO_FRACTION,
    duplicateGenes: opts.duplicateGenes ?? 'error',
  };
  requireNonNegative('minGenes', resolved.minGenes);
  requireNonNegative('minCounts', resolved.minCounts);
  const f = resolved.maxMitoFraction;
  if (!Number.isFinite(f) || f < 0 || f > 1) {
    throw new RangeError(`preprocess: option maxMitoFraction must be a fraction in [0, 1], got ${f}`);
  }
  if (resolved.duplicateGenes !== 'error' && resolved.duplicateGenes !== 'sum') {
    throw new RangeError(
      `preprocess: option duplicateGenes must be 'error' or 'sum', got ${JSON.stringify(resolved.duplicateGenes)}`,
    );
  }
  return resolved;
}

export function validateTargetSum(targetSum: number): void {
  if (!Number.isFinite(targetSum) || targetSum <= 0) {
    throw new RangeError(`preprocess: option targetSum must be a positive number, got ${targetSum}`);
  }
}

function requireNonNegative(name: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`preprocess: option ${name} must be a non-negative number, got ${value}`);
  }
}
