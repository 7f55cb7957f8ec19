import { InputError } from './input-error';
import {
  child,
  isDataset,
  isNumericDataset,
  numbersAttr,
  stringAttr,
  type Dataset,
  type Group,
  type H5File,
} from './h5-file';
import type { Csr } from './sparse';

/**
 * The `X` matrix of an AnnData file (cells x genes): a dense 2D dataset, or a
 * sparse group (`data`, `indices`, `indptr`) tagged `encoding-type` =
 * `csr_matrix` / `csc_matrix`, or by older writers `h5sparse_format` = `csr` /
 * `csc` with `h5sparse_shape`. Every value read passes the same check as text
 * input: finite and >= 0.
 */
export type H5adX =
  | { kind: 'dense'; rows: number; cols: number; dataset: Dataset }
  | { kind: 'csr' | 'csc'; rows: number; cols: number; group: Group };

/** Names a matrix entry for an error message, e.g. `cell "AAAC-1" (row 4), gene "CD3E" (column 2)`. */
export type Locate = (row: number, col: number) => string;

/** Dense reads go in blocks of about this many values, bounding wasm heap use. */
const BLOCK_VALUES = 4 << 20;

export function locateX(file: H5File, path: string): H5adX {
  const x = child(file, 'X');
  if (x === undefined) {
    throw new InputError(
      `${path}: no "X" in the file; expected the expression matrix X (cells x genes)`,
      path,
    );
  }
  if (isDataset(x)) {
    const shape = x.shape ?? [];
    if (shape.length !== 2) {
      throw new InputError(
        `${path}: X has ${shape.length} dimensions; expected a 2D matrix (cells x genes)`,
        path,
      );
    }
    if (!isNumericDataset(x))
      throw new InputError(`${path}: X does not hold numbers (dtype ${x.dtype})`, path);
    return { kind: 'dense', rows: shape[0], cols: shape[1], dataset: x };
  }
  const encoding = stringAttr(x, 'encoding-type') ?? stringAttr(x, 'h5sparse_format') ?? '';
  const kind = encoding.startsWith('csr') ? 'csr' : encoding.startsWith('csc') ? 'csc' : undefined;
  if (kind === undefined) {
    throw new InputError(
      `${path}: X is a group with encoding "${encoding || 'none'}"; expected csr_matrix or csc_matrix`,
      path,
    );
  }
  const shape = numbersAttr(x, 'shape') ?? numbersAttr(x, 'h5sparse_shape');
  if (shape === undefined || shape.length !== 2) {
    throw new InputError(`${path}: sparse X has no valid "shape" attribute`, path);
  }
  return { kind, rows: shape[0], cols: shape[1], group: x };
}

/**
 * Rows [row0, row1) of a dense X into `dst` (row-major, from `dstOffset`),
 * converted to float32 and checked.
 */
export function readDenseRows(
  x: Extract<H5adX, { kind: 'dense' }>,
  row0: number,
  row1: number,
  dst: Float32Array,
  dstOffset: number,
  path: string,
  locate: Locate,
): void {
  const cols = x.cols;
  const step = Math.max(1, Math.floor(BLOCK_VALUES / Math.max(1, cols)));
  for (let r = row0; r < row1; r += step) {
    const end = Math.min(row1, r + step);
    const block = x.dataset.slice([[r, end], []]) as ArrayLike<number | bigint>;
    const offset = dstOffset + (r - row0) * cols;
    copyChecked(block, dst, offset, (k) => locate(r + Math.floor(k / cols), k % cols), path);
  }
}

/** Dense rows in blocks, for callers that turn them into something else (CSR). */
export function forEachDenseBlock(
  x: Extract<H5adX, { kind: 'dense' }>,
  path: string,
  locate: Locate,
  visit: (block: Float32Array, row0: number, rows: number) => void,
): void {
  const step = Math.max(1, Math.floor(BLOCK_VALUES / Math.max(1, x.cols)));
  const buffer = new Float32Array(Math.min(x.rows, step) * x.cols);
  for (let r = 0; r < x.rows; r += step) {
    const end = Math.min(x.rows, r + step);
    readDenseRows(x, r, end, buffer, 0, path, locate);
    visit(buffer.subarray(0, (end - r) * x.cols), r, end - r);
  }
}

/**
 * A sparse X as stored (CSR of cells x genes, or CSC = CSR of genes x cells),
 * with its structure validated and values checked.
 */
export function readSparse(x: Extract<H5adX, { kind: 'csr' | 'csc' }>, path: string, locate: Locate): Csr {
  const part = (name: string): Dataset => {
    const ds = child(x.group, name);
    if (!isDataset(ds) || !isNumericDataset(ds)) {
      throw new InputError(`${path}: sparse X has no numeric "${name}" dataset`, path);
    }
    return ds;
  };
  const major = x.kind === 'csr' ? x.rows : x.cols;
  const minor = x.kind === 'csr' ? x.cols : x.rows;
  const indptr = Float64Array.from(part('indptr').value as ArrayLike<number | bigint>, Number);
  const rawIndices = part('indices').value as ArrayLike<number | bigint>;
  const rawData = part('data').value as ArrayLike<number | bigint>;
  const nnz = rawData.length;
  const bad = (what: string) =>
    new InputError(
      `${path}: sparse X (${x.kind}_matrix, shape ${x.rows} x ${x.cols}) is damaged: ${what}`,
      path,
    );

  if (indptr.length !== major + 1) throw bad(`indptr has ${indptr.length} entries, expected ${major + 1}`);
  if (rawIndices.length !== nnz) throw bad(`${rawIndices.length} indices for ${nnz} values`);
  if (indptr[0] !== 0 || indptr[major] !== nnz)
    throw bad(`indptr runs from ${indptr[0]} to ${indptr[major]}, expected 0 to ${nnz}`);
  for (let i = 0; i < major; i++) {
    if (indptr[i + 1] < indptr[i]) throw bad(`indptr decreases at position ${i + 1}`);
  }
  const indices = new Int32Array(nnz);
  for (let k = 0; k < nnz; k++) {
    const v = Number(rawIndices[k]);
    if (!(v >= 0 && v < minor)) throw bad(`index ${v} at position ${k} is outside 0..${minor - 1}`);
    indices[k] = v;
  }
  const data = new Float32Array(nnz);
  copyChecked(
    rawData,
    data,
    0,
    (k) => {
      const m = majorOf(indptr, k);
      return x.kind === 'csr' ? locate(m, indices[k]) : locate(indices[k], m);
    },
    path,
  );
  return { indptr, indices, data };
}

/** The major index (row of a CSR) that stored value k belongs to. */
function majorOf(indptr: Float64Array, k: number): number {
  let lo = 0;
  let hi = indptr.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (indptr[mid] <= k) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Copies numbers to float32, rejecting NaN, infinities and negatives like the text readers do. */
function copyChecked(
  src: ArrayLike<number | bigint>,
  dst: Float32Array,
  offset: number,
  where: (k: number) => string,
  path: string,
): void {
  const n = src.length;
  if (src instanceof BigInt64Array || src instanceof BigUint64Array) {
    for (let k = 0; k < n; k++) {
      const v = Number(src[k]);
      if (v < 0) throw badValue(v, where(k), path);
      dst[offset + k] = v;
    }
    return;
  }
  const numbers = src as ArrayLike<number>;
  for (let k = 0; k < n; k++) {
    const v = numbers[k];
    if (!(v >= 0 && v !== Infinity)) throw badValue(v, where(k), path);
    dst[offset + k] = v;
  }
}

function badValue(v: number, where: string, path: string): InputError {
  const what = Number.isNaN(v) ? 'is NaN' : Number.isFinite(v) ? `is negative (${v})` : 'is infinite';
  return new InputError(`${path}: X at ${where} ${what}; values must be finite numbers >= 0`, path);
}
