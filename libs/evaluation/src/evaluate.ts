import type { EvaluationReport, NovelTypeSummary } from './evaluation-report';
import { sortedLabels } from './label-order';
import { confusionMatrix } from './confusion-matrix';
import { matchCells, sourceOf, type LabelSource } from './match-cells';
import { macroF1, typeMetrics } from './type-metrics';

export interface EvaluateOptions {
  /** The label a model gives a cell it rejects (ALGORITHM.md §7). Default 'unassigned'. */
  unassignedLabel?: string;
  /**
   * The cell types the model knows (its references'). Cells of any other true type are "novel":
   * they are scored apart and are right only when unassigned (ALGORITHM.md §9).
   */
  referenceTypes?: readonly string[];
}

/**
 * Scores predictions against true labels, matched by cell id (both must list the same cells).
 * Labels are trimmed, then compared exactly (case-sensitive). Macro-F1 averages over the true
 * labels present in the scored cells, not over labels that were only predicted.
 */
export function evaluate(
  predictions: LabelSource,
  truth: LabelSource,
  opts: EvaluateOptions = {},
): EvaluationReport {
  const unassignedLabel = (opts.unassignedLabel ?? 'unassigned').trim();
  const reference = opts.referenceTypes ? new Set(opts.referenceTypes.map((t) => t.trim())) : null;
  const isNovel = (label: string) => reference !== null && !reference.has(label);
  const cells = matchCells(predictions, truth);
  const n = cells.ids.length;

  const knownTruth: string[] = [];
  const knownPredicted: string[] = [];
  const novelTally = new Map<string, NovelTypeSummary>();
  cells.truth.forEach((t, i) => {
    const p = cells.predicted[i];
    if (!isNovel(t)) {
      knownTruth.push(t);
      knownPredicted.push(p);
      return;
    }
    const tally = novelTally.get(t) ?? { label: t, cells: 0, unassigned: 0 };
    tally.cells++;
    if (p === unassignedLabel) tally.unassigned++;
    novelTally.set(t, tally);
  });

  const correct = knownTruth.filter((t, i) => knownPredicted[i] === t).length;
  const novelTypes = sortedLabels(novelTally.keys()).map((l) => novelTally.get(l)!);
  const novelCorrectlyUnassigned = novelTypes.reduce((s, t) => s + t.unassigned, 0);
  const perType = typeMetrics(sortedLabels(knownTruth), knownTruth, knownPredicted);
  const unassigned = cells.predicted.filter((p) => p === unassignedLabel).length;

  return {
    predictionsSource: sourceOf(predictions),
    truthSource: sourceOf(truth),
    nCells: n,
    knownCells: knownTruth.length,
    correct,
    accuracy: knownTruth.length === 0 ? 0 : correct / knownTruth.length,
    macroF1: macroF1(perType),
    allCellsAccuracy: (correct + novelCorrectlyUnassigned) / n,
    perType,
    unassignedLabel,
    unassigned,
    unassignedFraction: unassigned / n,
    referenceTypes: reference ? [...reference] : null,
    novelCells: n - knownTruth.length,
    novelCorrectlyUnassigned,
    novelTypes,
    confusion: confusionMatrix(cells.truth, cells.predicted, isNovel, unassignedLabel),
    warnings: warnings(cells.truth, cells.predicted, knownTruth.length, unassignedLabel),
  };
}

/** Mistakes that make every figure meaningless but raise no error: spot them for the user. */
function warnings(
  truth: string[],
  predicted: string[],
  knownCells: number,
  unassignedLabel: string,
): string[] {
  const out: string[] = [];
  if (knownCells === 0) {
    out.push(
      'no cell has a reference type: accuracy and macro-F1 are reported as 0. Are the reference types spelled as in the truth file?',
    );
  }
  const trueByLower = new Map(truth.map((t) => [t.toLowerCase(), t]));
  const trueSet = new Set(truth);
  for (const p of sortedLabels(predicted)) {
    const twin = trueByLower.get(p.toLowerCase());
    if (p !== unassignedLabel && !trueSet.has(p) && twin !== undefined) {
      out.push(
        `predicted label ${JSON.stringify(p)} differs from true label ${JSON.stringify(twin)} only by case; labels are compared case-sensitively.`,
      );
    }
  }
  return out;
}
