export { preprocess, type PreprocessResult } from './preprocess';
export { qualityControl, type QualityControlReport, type QualityControlResult } from './quality-control';
export { normalizeLog1p } from './normalize-log1p';
export { resolveDuplicateGenes, type DuplicateGenesResult } from './duplicate-genes';
export { isMitochondrialGene } from './mito-genes';
export {
  DEFAULT_MAX_MITO_FRACTION,
  DEFAULT_MIN_COUNTS,
  DEFAULT_MIN_GENES,
  DEFAULT_TARGET_SUM,
  type DuplicateGenesMode,
  type PreprocessOptions,
  type QualityControlOptions,
} from './options';
