import type { TypeMetrics } from './evaluation-report';

/**
 * Per-type precision, recall and F1 for each label in `types`, over the given cells.
 * A ratio whose denominator is 0 is 0 (sklearn's zero_division=0): a type never predicted has
 * precision 0, and F1 is 0 when precision + recall is 0.
 */
export function typeMetrics(
  types: readonly string[],
  truth: readonly string[],
  predicted: readonly string[],
): TypeMetrics[] {
  const support = new Map<string, number>();
  const predictedCount = new Map<string, number>();
  const truePositives = new Map<string, number>();
  const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  truth.forEach((t, i) => {
    const p = predicted[i];
    bump(support, t);
    bump(predictedCount, p);
    if (p === t) bump(truePositives, t);
  });
  return types.map((label) => {
    const tp = truePositives.get(label) ?? 0;
    const nTrue = support.get(label) ?? 0;
    const nPred = predictedCount.get(label) ?? 0;
    const precision = ratio(tp, nPred);
    const recall = ratio(tp, nTrue);
    const f1 = ratio(2 * precision * recall, precision + recall);
    return { label, precision, recall, f1, support: nTrue, predicted: nPred };
  });
}

/** Unweighted mean of the per-type F1 (0 when there is no type). */
export function macroF1(metrics: readonly TypeMetrics[]): number {
  return ratio(
    metrics.reduce((s, m) => s + m.f1, 0),
    metrics.length,
  );
}

function ratio(num: number, den: number): number {
  return den === 0 ? 0 : num / den;
}
