/**
 * Compressed sparse row matrices and the conversions the readers need to
 * produce one (cells x genes) from what files hold: gene-major text, CSC
 * h5ad, dense h5ad, unordered MatrixMarket triplets.
 */
export interface Csr {
  /** Row pointer, length rows + 1 (Float64 so that > 2^31 stored values fit). */
  indptr: Float64Array;
  indices: Int32Array;
  data: Float32Array;
}

/**
 * The transpose of a CSR matrix (equivalently: CSC -> CSR). A counting sort by
 * column; visiting rows in order leaves each output row's indices sorted.
 */
export function transposeCsr(rows: number, cols: number, m: Csr): Csr {
  const nnz = m.indices.length;
  const indptr = new Float64Array(cols + 1);
  for (let k = 0; k < nnz; k++) indptr[m.indices[k] + 1]++;
  for (let c = 0; c < cols; c++) indptr[c + 1] += indptr[c];
  const next = Float64Array.from(indptr.subarray(0, cols));
  const indices = new Int32Array(nnz);
  const data = new Float32Array(nnz);
  for (let r = 0; r < rows; r++) {
    for (let k = m.indptr[r], end = m.indptr[r + 1]; k < end; k++) {
      const c = m.indices[k];
      const dst = next[c]++;
      indices[dst] = r;
      data[dst] = m.data[k];
    }
  }
  return { indptr, indices, data };
}

/**
 * Triplets (any order, duplicates allowed) to CSR with sorted, unique column
 * indices per row; duplicates are summed, as scipy does for MatrixMarket.
 */
export function cooToCsr(
  rows: number,
  rowIdx: Int32Array,
  colIdx: Int32Array,
  values: Float32Array,
  count = rowIdx.length,
): Csr {
  const indptr = new Float64Array(rows + 1);
  for (let k = 0; k < count; k++) indptr[rowIdx[k] + 1]++;
  for (let r = 0; r < rows; r++) indptr[r + 1] += indptr[r];
  const next = Float64Array.from(indptr.subarray(0, rows));
  let indices: Int32Array = new Int32Array(count);
  let data: Float32Array = new Float32Array(count);
  for (let k = 0; k < count; k++) {
    const dst = next[rowIdx[k]]++;
    indices[dst] = colIdx[k];
    data[dst] = values[k];
  }
  // Rows are usually already sorted (10x writes column-major, gene-sorted): only fix the others.
  let duplicates = false;
  for (let r = 0; r < rows; r++) {
    const start = indptr[r];
    const end = indptr[r + 1];
    let sorted = true;
    for (let k = start + 1; k < end; k++) {
      if (indices[k] <= indices[k - 1]) {
        sorted = false;
        break;
      }
    }
    if (!sorted) duplicates = sortRow(indices, data, start, end) || duplicates;
  }
  if (duplicates) ({ indices, data } = sumDuplicates(rows, indptr, indices, data));
  return { indptr, indices, data };
}

/** Sorts one row's (index, value) pairs by index; true when an index repeats. */
function sortRow(indices: Int32Array, data: Float32Array, start: number, end: number): boolean {
  const order = Array.from({ length: end - start }, (_, i) => start + i).sort(
    (a, b) => indices[a] - indices[b],
  );
  const idx = order.map((k) => indices[k]);
  const val = order.map((k) => data[k]);
  let repeated = false;
  for (let i = 0; i < idx.length; i++) {
    indices[start + i] = idx[i];
    data[start + i] = val[i];
    if (i > 0 && idx[i] === idx[i - 1]) repeated = true;
  }
  return repeated;
}

/** Merges repeated (sorted) indices within rows by summing; rewrites indptr in place. */
function sumDuplicates(
  rows: number,
  indptr: Float64Array,
  indices: Int32Array,
  data: Float32Array,
): { indices: Int32Array; data: Float32Array } {
  let out = 0;
  let start = 0;
  for (let r = 0; r < rows; r++) {
    const end = indptr[r + 1];
    const rowStart = out;
    for (let k = start; k < end; k++) {
      if (out > rowStart && indices[out - 1] === indices[k]) data[out - 1] += data[k];
      else {
        indices[out] = indices[k];
        data[out] = data[k];
        out++;
      }
    }
    start = end;
    indptr[r + 1] = out;
  }
  return { indices: indices.slice(0, out), data: data.slice(0, out) };
}

/** A growable typed array (doubling), for stored values whose count is unknown ahead. */
export class GrowableArray<T extends Int32Array | Float32Array> {
  private store: T;
  length = 0;

  constructor(private readonly make: (n: number) => T) {
    this.store = make(1024);
  }

  push(value: number): void {
    if (this.length === this.store.length) {
      const bigger = this.make(this.store.length * 2);
      bigger.set(this.store);
      this.store = bigger;
    }
    this.store[this.length++] = value;
  }

  /** The values, trimmed to length (a copy only when there is slack). */
  toArray(): T {
    return this.length === this.store.length ? this.store : (this.store.slice(0, this.length) as T);
  }
}
