import { evaluate, separationAuc, type LabelTable } from '@fl/evaluation';
import { autoRejection } from '@fl/federation';

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

/** How well a leave-one-type-out run tells the held-out (novel) type's cells from the known ones. */
export interface NovelDetection {
  novelCells: number;
  knownCells: number;
  /** AUROC of the confidence, known (higher) against novel (lower): the target is >= 0.90. */
  auroc: number;
  /** `--reject-threshold auto` applied to the run's labels and confidences: fractions unassigned. */
  auto: { novelRejected: number; knownRejected: number };
  /**
   * `auto` on the known cells alone, as if the query held no novel type (the same model and
   * cells): what the rule costs a query it has nothing to find in. Absent in runs scored before.
   */
  autoWithoutNovel?: { knownRejected: number };
  /**
   * The best any single threshold on the confidence could do with the truth known: the novel
   * fraction unassigned at the highest threshold that leaves at most 5% of known cells unassigned.
   */
  oracleAt5: { threshold: number; novelRejected: number; knownRejected: number };
}

/** Fraction of the known cells `auto` rejects when it is given the known cells only. */
function autoOnKnownOnly(
  cells: { labels: readonly string[]; confidence: readonly number[] },
  isNovel: readonly boolean[],
): number {
  const keep = isNovel.flatMap((novel, i) => (novel ? [] : [i]));
  if (keep.length === 0) return NaN;
  const only = autoRejection(
    keep.map((i) => cells.labels[i]),
    keep.map((i) => cells.confidence[i]),
  );
  return only.rejected.reduce((a, b) => a + b, 0) / keep.length;
}

/**
 * Scores novel-type detection from a run's per-cell labels and confidences (in `cells.ids`
 * order). Novel cells are the query cells whose true type no reference holds.
 */
export function novelDetection(
  cells: { ids: readonly string[]; labels: readonly string[]; confidence: readonly number[] },
  truth: LabelTable,
  referenceTypes: readonly string[],
): NovelDetection {
  const truthOf = new Map(truth.ids.map((id, i) => [id, truth.labels[i]]));
  const known = new Set(referenceTypes);
  const isNovel = cells.ids.map((id) => {
    const t = truthOf.get(id);
    if (t === undefined) throw new Error(`novelDetection: cell ${id} has no true label`);
    return !known.has(t);
  });
  const novelConf = cells.confidence.filter((_, i) => isNovel[i]);
  const knownConf = cells.confidence.filter((_, i) => !isNovel[i]);
  const auto = autoRejection(cells.labels, cells.confidence);
  const rejectedIn = (novel: boolean) => {
    let cellsOfKind = 0;
    let rejected = 0;
    isNovel.forEach((v, i) => {
      if (v !== novel) return;
      cellsOfKind++;
      rejected += auto.rejected[i];
    });
    return cellsOfKind ? rejected / cellsOfKind : NaN;
  };
  // Highest threshold with <= 5% of known cells strictly below it: the (floor(5% n) + 1)-th
  // smallest known confidence rejects exactly the floor(5% n) cells below it (ties kept).
  const sortedKnown = [...knownConf].sort((a, b) => a - b);
  const allowed = Math.floor(0.05 * sortedKnown.length);
  const threshold = sortedKnown.length > 0 ? sortedKnown[allowed] : NaN;
  const below = (xs: number[]) => (xs.length ? xs.filter((x) => x < threshold).length / xs.length : NaN);
  return {
    novelCells: novelConf.length,
    knownCells: knownConf.length,
    auroc: separationAuc(knownConf, novelConf),
    auto: { novelRejected: rejectedIn(true), knownRejected: rejectedIn(false) },
    autoWithoutNovel: { knownRejected: autoOnKnownOnly(cells, isNovel) },
    oracleAt5: { threshold, novelRejected: below(novelConf), knownRejected: below(knownConf) },
  };
}
