/**
 * @fl/formats: reading and writing the platform's data files.
 *
 * - readExpression: cells x genes log-normalised data (CSV / TSV / .gz / .h5ad)
 * - summarizeExpression: the same validation, keeping counts only (uploads)
 * - ReadLimits / DEFAULT_READ_LIMITS / InputLimitError: caps on what a file may cost
 * - readRawCounts: raw counts for preprocessing (genes x cells text, .h5ad, 10x folder)
 * - writeH5ad: an AnnData file that anndata / scanpy read
 * - listDataFiles, datasetName: folders of institutions' files
 */
export type { DatasetRole, ExpressionMatrix, ExpressionSummary, ReadProgress, SparseCounts } from './types';
export { InputError } from './input-error';
export {
  DEFAULT_READ_LIMITS,
  InputLimitError,
  type LimitOptions,
  type ReadLimitName,
  type ReadLimits,
} from './read-limits';
export { LABEL_COLUMN } from './columns';
export { DATA_EXTENSIONS, datasetName, fileKind, type FileKind } from './file-kind';
export { readExpression, summarizeExpression, type ReadExpressionOptions } from './read-expression';
export { readRawCounts } from './read-raw-counts';
export { writeH5ad, type H5adContent } from './write-h5ad';
export { listDataFiles } from './list-data-files';
export { sharedFloat32 } from './shared-floats';
