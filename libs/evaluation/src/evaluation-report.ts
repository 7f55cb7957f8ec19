/** Precision, recall and F1 of one true cell type; 0 wherever a ratio is 0/0 (sklearn's zero_division=0). */
export interface TypeMetrics {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  /** Scored cells whose true label is this type. */
  support: number;
  /** Scored cells predicted as this type. */
  predicted: number;
}

/** A true cell type absent from `referenceTypes`: its cells are right only when left unassigned. */
export interface NovelTypeSummary {
  label: string;
  cells: number;
  unassigned: number;
}

/** counts[i][j] = cells with true label rows[i] predicted as cols[j]. */
export interface ConfusionMatrix {
  /** True labels: reference (or all) types sorted, then novel types sorted. */
  rows: string[];
  /** Predicted labels and the non-novel true labels, sorted, the unassigned label last (if predicted). */
  cols: string[];
  /** Row indices (into `rows`) of novel types. */
  novelRows: number[];
  counts: number[][];
}

/**
 * The quality of a set of predictions against the true labels (ALGORITHM.md §9).
 *
 * Without `referenceTypes` every cell is scored. With them, the headline (`accuracy`, `macroF1`,
 * `perType`) is computed on the cells of reference types only ("known" cells), and the
 * novel-type cells are summarised apart; `allCellsAccuracy` counts a novel cell as correct
 * only when it is unassigned.
 */
export interface EvaluationReport {
  predictionsSource?: string;
  truthSource?: string;
  nCells: number;
  /** Cells of a reference type (all cells when no reference types were given). */
  knownCells: number;
  /** Known cells whose prediction equals their true label. */
  correct: number;
  /** correct / knownCells. */
  accuracy: number;
  /** Mean F1 over the true labels of known cells. */
  macroF1: number;
  /** (correct + novelCorrectlyUnassigned) / nCells. */
  allCellsAccuracy: number;
  perType: TypeMetrics[];
  unassignedLabel: string;
  /** Cells (all of them) predicted as `unassignedLabel`. */
  unassigned: number;
  unassignedFraction: number;
  /** The cell types the model knows, as given; null when not given. */
  referenceTypes: string[] | null;
  novelCells: number;
  novelCorrectlyUnassigned: number;
  novelTypes: NovelTypeSummary[];
  confusion: ConfusionMatrix;
  warnings: string[];
}
