import { stat } from 'node:fs/promises';
import { asInputError } from './byte-chunks';
import { acceptedExtensionsText, fileKind, type FileKind } from './file-kind';
import { InputError } from './input-error';
import { readDelimitedExpression, summarizeDelimitedExpression } from './read-delimited-expression';
import { readH5adExpression, summarizeH5adExpression } from './read-h5ad';
import { resolveLimits, type LimitOptions } from './read-limits';
import type { DatasetRole, ExpressionMatrix, ExpressionSummary, ReadProgress } from './types';

export type ReadExpressionOptions = { role: DatasetRole } & ReadProgress & LimitOptions;

/**
 * Reads a cells x genes matrix of log-normalised expression: a reference
 * (`role: 'reference'`, must carry `cell_label`) or a query. The format follows
 * the extension: .csv, .tsv / .txt (tab-separated), each optionally .gz, or
 * .h5ad. Mistakes in the file throw an InputError naming the file (and line);
 * a file beyond a read limit (DEFAULT_READ_LIMITS unless `limits` says otherwise)
 * throws an InputLimitError.
 */
export async function readExpression(path: string, opts: ReadExpressionOptions): Promise<ExpressionMatrix> {
  const kind = await expressionKind(path);
  const progress: ReadProgress = { onProgress: opts.onProgress };
  const limits = resolveLimits(opts);
  if (kind.kind === 'h5ad') return readH5adExpression(path, opts.role, progress, limits);
  return readDelimitedExpression(path, kind, opts.role, progress, limits);
}

/**
 * Validates a file exactly as readExpression does, keeping only its cell count,
 * genes and cells per type: memory stays bounded by the genes, not the cells, so
 * a server can check a large upload.
 */
export async function summarizeExpression(
  path: string,
  opts: ReadExpressionOptions,
): Promise<ExpressionSummary> {
  const kind = await expressionKind(path);
  const progress: ReadProgress = { onProgress: opts.onProgress };
  const limits = resolveLimits(opts);
  if (kind.kind === 'h5ad') return summarizeH5adExpression(path, opts.role, progress, limits);
  return summarizeDelimitedExpression(path, kind, opts.role, progress, limits);
}

async function expressionKind(path: string): Promise<FileKind> {
  const kind = fileKind(path);
  if (kind !== undefined) return kind;
  if (await isFolder(path)) {
    throw new InputError(
      `${path} is a folder; expected a cells x genes data file (${acceptedExtensionsText()}). ` +
        '10x folders hold raw counts: preprocess them first',
      path,
    );
  }
  throw new InputError(`${path}: unsupported file type; expected one of ${acceptedExtensionsText()}`, path);
}

export async function isFolder(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (err) {
    throw asInputError(err, path, false);
  }
}
