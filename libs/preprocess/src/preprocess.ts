import type { SparseCounts } from '@fl/formats';
import { normalizeLog1p } from './normalize-log1p';
import { DEFAULT_TARGET_SUM, validateTargetSum, type PreprocessOptions } from './options';
import { qualityControl, type QualityControlReport } from './quality-control';

export interface PreprocessResult {
  /** Kept cells x genes, log-normalised (still CSR; `values` are ln(1 + x) in float32). */
  matrix: SparseCounts;
  report: QualityControlReport & { targetSum: number };
}

/** The published `preprocess` step: quality filters, then per-cell normalisation and ln(1 + x). */
export function preprocess(counts: SparseCounts, opts: PreprocessOptions = {}): PreprocessResult {
  const targetSum = opts.targetSum ?? DEFAULT_TARGET_SUM;
  validateTargetSum(targetSum); // before the (slow) filtering pass, so a bad option fails fast
  const { kept, report } = qualityControl(counts, opts);
  return { matrix: normalizeLog1p(kept, targetSum), report: { ...report, targetSum } };
}
