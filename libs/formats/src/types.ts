/**
 * A dense expression matrix, cells x genes, row-major.
 * `values[cell * genes.length + gene]` is the (log-normalised) expression.
 */
export interface ExpressionMatrix {
  /** Path of the file it was read from; used in every error message. */
  source: string;
  cellIds: string[];
  /** Gene names exactly as written in the file (case preserved). */
  genes: string[];
  values: Float32Array;
  /** `cell_label` per cell, when the file has one (references). */
  labels?: string[];
}

/** Raw counts as a CSR matrix, cells x genes (rows are cells), for preprocessing. */
export interface SparseCounts {
  source: string;
  cellIds: string[];
  genes: string[];
  /** Row pointer, length cellIds.length + 1. */
  indptr: Float64Array;
  /** Gene index of each stored value. */
  indices: Int32Array;
  data: Float32Array;
}

/** What a file is for: a reference must carry `cell_label`; a query must not need one. */
export type DatasetRole = 'reference' | 'query';

export interface ReadProgress {
  /** Called now and then while reading; `total` is the file size in bytes when known. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * What validating an expression file yields when the matrix itself is not needed
 * (an upload): the same checks as reading it, with memory bounded by the genes and
 * cell types rather than the cells.
 */
export interface ExpressionSummary {
  source: string;
  cells: number;
  genes: string[];
  /** Cells per `cell_label`, when the file has labels (always, for a reference). */
  typeCounts?: Record<string, number>;
}
