/**
 * @fl/formats: reading and writing the platform's data files.
 *
 * - readExpression: cells x genes log-normalised data (CSV / TSV / .gz / .h5ad)
 * - readRawCounts: raw counts for preprocessing (genes x cells text, .h5ad, 10x folder)
 * - writeH5ad: an AnnData file that anndata / scanpy read
 * - listDataFiles, datasetName: folders of institutions' files
 */
export type { DatasetRole, ExpressionMatrix, ReadProgress, SparseCounts } from './types';
export { InputError } from './input-error';
export { LABEL_COLUMN } from './columns';
export { DATA_EXTENSIONS, datasetName, fileKind, type FileKind } from './file-kind';
export { readExpression } from './read-expression';
export { readRawCounts } from './read-raw-counts';
export { writeH5ad, type H5adContent } from './write-h5ad';
export { listDataFiles } from './list-data-files';
export { sharedFloat32 } from './shared-floats';
