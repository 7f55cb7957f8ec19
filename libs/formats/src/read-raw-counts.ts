import { dirname } from 'node:path';
import { acceptedExtensionsText, fileKind } from './file-kind';
import { InputError } from './input-error';
import { read10x } from './read-10x';
import { readDelimitedCounts } from './read-delimited-counts';
import { isFolder } from './read-expression';
import { readH5adCounts } from './read-h5ad';
import { resolveLimits, type LimitOptions } from './read-limits';
import type { ReadProgress, SparseCounts } from './types';

/**
 * Reads raw counts for preprocessing, as CSR cells x genes, from:
 * - genes x cells text (`gene,<cell 1>,...`; .csv / .tsv / .txt, optionally .gz),
 *   the published preprocessing input;
 * - an .h5ad whose X (cells x genes) is dense, CSR or CSC;
 * - a 10x folder (matrix.mtx[.gz], barcodes.tsv[.gz], features.tsv[.gz] / genes.tsv).
 * Duplicate gene names are kept: preprocessing decides what to do with them.
 * ReadLimits apply as for readExpression (DEFAULT_READ_LIMITS unless `limits` overrides).
 */
export async function readRawCounts(
  path: string,
  opts: ReadProgress & LimitOptions = {},
): Promise<SparseCounts> {
  const progress: ReadProgress = { onProgress: opts.onProgress };
  const limits = resolveLimits(opts);
  if (await isFolder(path)) return read10x(path, progress, limits);
  // Pointing at the matrix of a 10x folder means the folder.
  if (/(^|[/\\])matrix\.mtx(\.gz)?$/i.test(path)) return read10x(dirname(path), progress, limits);
  const kind = fileKind(path);
  if (kind === undefined) {
    throw new InputError(
      `${path}: unsupported file type; expected a 10x folder or one of ${acceptedExtensionsText()}`,
      path,
    );
  }
  if (kind.kind === 'h5ad') return readH5adCounts(path, progress, limits);
  return readDelimitedCounts(path, kind, progress, limits);
}
