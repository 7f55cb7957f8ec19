import { assertPrintable } from './cell-text';
import { LABEL_COLUMN } from './columns';
import { assertUniqueGenes } from './gene-names';
import { openH5, type H5File } from './h5-file';
import { readIndex, readObsText } from './h5ad-obs';
import { forEachDenseBlock, locateX, readDenseRows, readSparse, type H5adX, type Locate } from './h5ad-x';
import { InputError } from './input-error';
import { limitError, resolveLimits, type ResolvedLimits } from './read-limits';
import { transposeCsr, type Csr } from './sparse';
import type { DatasetRole, ExpressionMatrix, ExpressionSummary, ReadProgress, SparseCounts } from './types';
import { sharedFloat32 } from './shared-floats';

/** Log-normalised cells x genes from an AnnData file, made dense. */
export async function readH5adExpression(
  path: string,
  role: DatasetRole,
  progress: ReadProgress = {},
  limits: ResolvedLimits = resolveLimits(),
): Promise<ExpressionMatrix> {
  return withH5ad(path, progress, limits, (file, parts) => {
    const { cellIds, genes, x, locate } = parts;
    const labels = checkExpression(file, path, role, parts, limits);
    const values = sharedFloat32(x.rows * x.cols);
    if (x.kind === 'dense') readDenseRows(x, 0, x.rows, values, 0, path, locate);
    else {
      const m = readSparse(x, path, locate);
      // CSR: (major, minor) = (cell, gene); CSC: (gene, cell).
      const [rowStride, colStride] = x.kind === 'csr' ? [x.cols, 1] : [1, x.cols];
      for (let major = 0; major < m.indptr.length - 1; major++) {
        for (let k = m.indptr[major]; k < m.indptr[major + 1]; k++) {
          values[major * rowStride + m.indices[k] * colStride] = m.data[k];
        }
      }
    }
    return { source: path, cellIds, genes, values, ...(labels ? { labels } : {}) };
  });
}

/** The same checks as readH5adExpression without making X dense: values are checked block by block. */
export async function summarizeH5adExpression(
  path: string,
  role: DatasetRole,
  progress: ReadProgress = {},
  limits: ResolvedLimits = resolveLimits(),
): Promise<ExpressionSummary> {
  return withH5ad(path, progress, limits, (file, parts) => {
    const { cellIds, genes, x, locate } = parts;
    const labels = checkExpression(file, path, role, parts, limits);
    if (x.kind === 'dense') forEachDenseBlock(x, path, locate, () => undefined);
    else readSparse(x, path, locate);
    let typeCounts: Record<string, number> | undefined;
    if (labels) {
      const counts = new Map<string, number>();
      for (const label of labels) counts.set(label, (counts.get(label) ?? 0) + 1);
      typeCounts = Object.fromEntries(counts);
    }
    return { source: path, cells: cellIds.length, genes, ...(typeCounts ? { typeCounts } : {}) };
  });
}

/** Checks shared by reading and summarising: genes, the dense size, ids and labels. */
function checkExpression(
  file: H5File,
  path: string,
  role: DatasetRole,
  { cellIds, genes, x }: H5adParts,
  limits: ResolvedLimits,
): string[] | undefined {
  if (x.rows * x.cols > limits.maxValues) {
    throw limitError(
      limits,
      'maxValues',
      { file: path },
      `X (${x.rows.toLocaleString('en-US')} cells x ${x.cols.toLocaleString('en-US')} genes)`,
    );
  }
  assertUniqueGenes(genes, path, (i) => `var index entry ${i + 1}`);
  cellIds.forEach((id, i) => assertPrintable(id, 'cell id', path, undefined, `obs row ${i + 1}`));
  const labels = readLabels(file, path, role, cellIds);
  labels?.forEach((label, i) => assertPrintable(label, LABEL_COLUMN, path, undefined, `obs row ${i + 1}`));
  return labels;
}

/** Raw counts (X, cells x genes) from an AnnData file, as CSR; duplicate gene names are kept. */
export async function readH5adCounts(
  path: string,
  progress: ReadProgress = {},
  limits: ResolvedLimits = resolveLimits(),
): Promise<SparseCounts> {
  return withH5ad(path, progress, limits, (_file, { cellIds, genes, x, locate }) => {
    let csr: Csr;
    if (x.kind === 'dense') csr = denseToCsr(x, path, locate);
    else if (x.kind === 'csr') csr = readSparse(x, path, locate);
    else csr = transposeCsr(x.cols, x.rows, readSparse(x, path, locate));
    return { source: path, cellIds, genes, ...csr };
  });
}

interface H5adParts {
  cellIds: string[];
  genes: string[];
  x: H5adX;
  locate: Locate;
}

/** Opens the file, reads the indexes and finds X, and always closes it. */
async function withH5ad<T>(
  path: string,
  progress: ReadProgress,
  limits: ResolvedLimits,
  use: (file: H5File, parts: H5adParts) => T,
): Promise<T> {
  const file = await openH5(path);
  try {
    progress.onProgress?.(0, 1);
    const x = locateX(file, path);
    // From the shape alone, before any index or value is read.
    if (x.rows > limits.maxCells) {
      throw limitError(limits, 'maxCells', { file: path }, `X's ${x.rows.toLocaleString('en-US')} cells`);
    }
    if (x.cols > limits.maxGenes) {
      throw limitError(limits, 'maxGenes', { file: path }, `X's ${x.cols.toLocaleString('en-US')} genes`);
    }
    const cellIds = readIndex(file, path, 'obs');
    const genes = readIndex(file, path, 'var');
    if (cellIds.length !== x.rows || genes.length !== x.cols) {
      throw new InputError(
        `${path}: X is ${x.rows} x ${x.cols} but obs has ${cellIds.length} cells and var ${genes.length} genes`,
        path,
      );
    }
    if (x.rows === 0) throw new InputError(`${path}: X has no cells`, path);
    const locate: Locate = (r, c) =>
      `cell "${cellIds[r]}" (row ${r + 1}), gene "${genes[c]}" (column ${c + 1})`;
    const result = use(file, { cellIds, genes, x, locate });
    progress.onProgress?.(1, 1);
    return result;
  } catch (err) {
    throw asH5adError(err, path);
  } finally {
    file.close();
  }
}

/**
 * h5wasm reports what it cannot read (a float16 X, an odd string type) with a
 * plain Error or even a bare string: to the user that is an unreadable file.
 */
function asH5adError(err: unknown, path: string): unknown {
  if (typeof err === 'string' || (err instanceof Error && err.constructor === Error)) {
    const message = typeof err === 'string' ? err : err.message;
    return new InputError(`${path}: could not be read as an .h5ad (AnnData) file: ${message}`, path);
  }
  return err;
}

/** `obs/cell_label`: required (and complete) for a reference, read when present for a query. */
function readLabels(file: H5File, path: string, role: DatasetRole, cellIds: string[]): string[] | undefined {
  const raw = readObsText(file, path, LABEL_COLUMN);
  if (raw === undefined) {
    if (role === 'query') return undefined;
    throw new InputError(
      `${path}: no obs column "${LABEL_COLUMN}"; reference files need a \`${LABEL_COLUMN}\` column ` +
        '(the cell type of each cell)',
      path,
    );
  }
  if (raw.length !== cellIds.length) {
    throw new InputError(
      `${path}: obs/${LABEL_COLUMN} has ${raw.length} entries for ${cellIds.length} cells`,
      path,
    );
  }
  return raw.map((label, i) => {
    if (label !== null && label.trim() !== '') return label;
    if (role === 'query') return label ?? '';
    throw new InputError(
      `${path}: cell "${cellIds[i]}" (row ${i + 1}) has no ${LABEL_COLUMN}; ` +
        'reference files need the cell type of every cell',
      path,
    );
  });
}

/** Dense X to CSR block by block, so the dense matrix is never whole in memory. */
function denseToCsr(x: Extract<H5adX, { kind: 'dense' }>, path: string, locate: Locate): Csr {
  const indptr = new Float64Array(x.rows + 1);
  const chunks: { indices: Int32Array; data: Float32Array }[] = [];
  let nnz = 0;
  forEachDenseBlock(x, path, locate, (block, row0, rows) => {
    let count = 0;
    for (let k = 0; k < block.length; k++) if (block[k] !== 0) count++;
    const indices = new Int32Array(count);
    const data = new Float32Array(count);
    let out = 0;
    for (let r = 0; r < rows; r++) {
      const base = r * x.cols;
      for (let c = 0; c < x.cols; c++) {
        const v = block[base + c];
        if (v !== 0) {
          indices[out] = c;
          data[out++] = v;
        }
      }
      indptr[row0 + r + 1] = nnz + out;
    }
    nnz += count;
    chunks.push({ indices, data });
  });
  const indices = new Int32Array(nnz);
  const data = new Float32Array(nnz);
  let offset = 0;
  for (const c of chunks) {
    indices.set(c.indices, offset);
    data.set(c.data, offset);
    offset += c.indices.length;
  }
  return { indptr, indices, data };
}
