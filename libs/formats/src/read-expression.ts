import { stat } from 'node:fs/promises';
import { asInputError } from './byte-chunks';
import { acceptedExtensionsText, fileKind } from './file-kind';
import { InputError } from './input-error';
import { readDelimitedExpression } from './read-delimited-expression';
import { readH5adExpression } from './read-h5ad';
import type { DatasetRole, ExpressionMatrix, ReadProgress } from './types';

/**
 * Reads a cells x genes matrix of log-normalised expression: a reference
 * (`role: 'reference'`, must carry `cell_label`) or a query. The format follows
 * the extension: .csv, .tsv / .txt (tab-separated), each optionally .gz, or
 * .h5ad. Mistakes in the file throw an InputError naming the file (and line).
 */
export async function readExpression(
  path: string,
  opts: { role: DatasetRole } & ReadProgress,
): Promise<ExpressionMatrix> {
  const kind = fileKind(path);
  if (kind === undefined) {
    if (await isFolder(path)) {
      throw new InputError(
        `${path} is a folder; expected a cells x genes data file (${acceptedExtensionsText()}). ` +
          '10x folders hold raw counts: preprocess them first',
        path,
      );
    }
    throw new InputError(`${path}: unsupported file type; expected one of ${acceptedExtensionsText()}`, path);
  }
  const progress: ReadProgress = { onProgress: opts.onProgress };
  if (kind.kind === 'h5ad') return readH5adExpression(path, opts.role, progress);
  return readDelimitedExpression(path, kind, opts.role, progress);
}

export async function isFolder(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (err) {
    throw asInputError(err, path, false);
  }
}
