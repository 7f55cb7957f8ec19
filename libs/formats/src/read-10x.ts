import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { constants } from 'node:buffer';
import { gunzipSync } from 'node:zlib';
import { asInputError } from './byte-chunks';
import { assertPrintable } from './cell-text';
import { InputError } from './input-error';
import { readMatrixMarket } from './matrix-market';
import { limitError, resolveLimits, type ReadLimitName, type ResolvedLimits } from './read-limits';
import { cooToCsr } from './sparse';
import type { ReadProgress, SparseCounts } from './types';

/**
 * A 10x Genomics matrix folder (Cell Ranger output): `matrix.mtx[.gz]` (genes x
 * cells, MatrixMarket), `barcodes.tsv[.gz]` (one cell id per line) and
 * `features.tsv[.gz]` (Cell Ranger >= 3: id, symbol, type) or `genes.tsv[.gz]`
 * (Cell Ranger 2: id, symbol). Gene names are the symbols (2nd column), as
 * Seurat's and scanpy's readers use by default; repeated symbols are kept.
 */
export async function read10x(
  dir: string,
  progress: ReadProgress = {},
  limits: ResolvedLimits = resolveLimits(),
): Promise<SparseCounts> {
  const files = await locate10x(dir);
  const cellIds = (await readLines(files.barcodes, limits, 'maxCells')).map((l, i) => {
    const id = l.split('\t')[0];
    assertPrintable(id, 'cell id', files.barcodes, i + 1);
    return id;
  });
  const genes = (await readLines(files.features, limits, 'maxGenes')).map((l) => {
    const cols = l.split('\t');
    return cols.length > 1 ? cols[1] : cols[0];
  });
  const m = await readMatrixMarket(files.matrix, progress, limits);
  if (m.rows !== genes.length) {
    throw new InputError(
      `${files.matrix}: the matrix has ${m.rows} rows (genes) but ${files.features} lists ${genes.length} genes`,
      files.matrix,
    );
  }
  if (m.cols !== cellIds.length) {
    throw new InputError(
      `${files.matrix}: the matrix has ${m.cols} columns (cells) but ${files.barcodes} lists ${cellIds.length} barcodes`,
      files.matrix,
    );
  }
  // MatrixMarket rows are genes and columns cells: rows of the CSR are the columns.
  const csr = cooToCsr(m.cols, m.colIdx, m.rowIdx, m.values);
  return { source: dir, cellIds, genes, ...csr };
}

interface TenxFiles {
  matrix: string;
  barcodes: string;
  features: string;
}

async function locate10x(dir: string): Promise<TenxFiles> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw asInputError(err, dir, false);
  }
  const find = (...candidates: string[]) => candidates.find((c) => names.includes(c));
  const matrix = find('matrix.mtx', 'matrix.mtx.gz');
  const barcodes = find('barcodes.tsv', 'barcodes.tsv.gz');
  const features = find('features.tsv', 'features.tsv.gz', 'genes.tsv', 'genes.tsv.gz');
  const missing = [
    matrix ? '' : 'matrix.mtx[.gz]',
    barcodes ? '' : 'barcodes.tsv[.gz]',
    features ? '' : 'features.tsv[.gz] (or genes.tsv[.gz])',
  ].filter(Boolean);
  if (missing.length > 0) {
    throw new InputError(
      `${dir}: a 10x folder needs matrix.mtx[.gz], barcodes.tsv[.gz] and features.tsv[.gz] (or genes.tsv[.gz]); ` +
        `missing: ${missing.join(', ')}`,
      dir,
    );
  }
  return { matrix: join(dir, matrix!), barcodes: join(dir, barcodes!), features: join(dir, features!) };
}

/**
 * Lines of a small (possibly gzipped) text file, one per cell or gene (`count` names
 * the limit on how many): the whole file is read, so its decompressed size is capped.
 */
async function readLines(
  path: string,
  limits: ResolvedLimits,
  count: Extract<ReadLimitName, 'maxCells' | 'maxGenes'>,
): Promise<string[]> {
  const maxBytes = limits.maxDecompressedBytes;
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
    if (path.endsWith('.gz'))
      bytes = gunzipSync(bytes, { maxOutputLength: Math.min(maxBytes + 1, constants.MAX_LENGTH) });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw limitError(limits, 'maxDecompressedBytes', { file: path }, 'the text decompressed from the file');
    }
    throw asInputError(err, path, path.endsWith('.gz'));
  }
  if (bytes.length > maxBytes) {
    throw limitError(limits, 'maxDecompressedBytes', { file: path }, 'the file');
  }
  const lines = bytes
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length > limits[count]) {
    throw limitError(limits, count, { file: path }, `its ${lines.length.toLocaleString('en-US')} lines`);
  }
  return lines;
}
