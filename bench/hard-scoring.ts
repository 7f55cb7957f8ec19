import { evaluate, type LabelTable } from '@fl/evaluation';

/** How one set of predictions for a case's query scores. */
export interface CaseScore {
  /** On the query cells whose true type some reference holds. */
  accuracy: number;
  macroF1: number;
  scoredCells: number;
  /** Query cells whose true type no reference holds: not in `accuracy`, counted here. */
  excludedCells: number;
  /** Leave-one-type-out cases: where the held-out type's query cells went. */
  heldOut?: HeldOutSummary;
}

export interface HeldOutSummary {
  type: string;
  cells: number;
  /** Fraction of the held-out type's query cells given each label (no rejection yet: always a known type). */
  predicted: Record<string, number>;
}

/**
 * Scores predictions (in the query's row order) with the evaluation library: cells of a type
 * absent from `referenceTypes` are novel, so they are left out of accuracy and macro-F1 and
 * counted apart (as `scprivacy evaluate --model` does with the model's types).
 */
export function scoreCase(
  cellIds: readonly string[],
  labels: readonly string[],
  truth: LabelTable,
  referenceTypes: readonly string[],
  heldOutType?: string,
): CaseScore {
  const predictions = new Map(cellIds.map((id, i) => [id, labels[i]]));
  const report = evaluate(predictions, truth, { referenceTypes });
  const score: CaseScore = {
    accuracy: report.accuracy,
    macroF1: report.macroF1,
    scoredCells: report.knownCells,
    excludedCells: report.novelCells,
  };
  if (heldOutType === undefined) return score;
  const counts = new Map<string, number>();
  truth.ids.forEach((id, i) => {
    if (truth.labels[i] !== heldOutType) return;
    const p = predictions.get(id)!;
    counts.set(p, (counts.get(p) ?? 0) + 1);
  });
  const cells = [...counts.values()].reduce((a, b) => a + b, 0);
  const predicted = Object.fromEntries(
    [...counts.entries()]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .map(([l, n]) => [l, n / cells]),
  );
  return { ...score, heldOut: { type: heldOutType, cells, predicted } };
}
