import type { ConfusionMatrix } from './evaluation-report';
import { sortedLabels } from './label-order';

/**
 * Rows: known true labels sorted, then novel ones sorted (so the known block has a diagonal).
 * Columns: known true labels and every predicted label, sorted, with `unassignedLabel` last;
 * a known type nobody predicted keeps its (empty) column so the diagonal stays aligned.
 */
export function confusionMatrix(
  truth: readonly string[],
  predicted: readonly string[],
  isNovel: (label: string) => boolean,
  unassignedLabel: string,
): ConfusionMatrix {
  const known = sortedLabels(truth.filter((t) => !isNovel(t)));
  const novel = sortedLabels(truth.filter(isNovel));
  const rows = [...known, ...novel];
  const cols = sortedLabels([...known, ...predicted].filter((l) => l !== unassignedLabel));
  if (predicted.includes(unassignedLabel)) cols.push(unassignedLabel);

  const rowOf = new Map(rows.map((l, i) => [l, i]));
  const colOf = new Map(cols.map((l, i) => [l, i]));
  const counts = rows.map(() => new Array<number>(cols.length).fill(0));
  truth.forEach((t, i) => counts[rowOf.get(t)!][colOf.get(predicted[i])!]++);
  const novelRows = novel.map((_, i) => known.length + i);
  return { rows, cols, novelRows, counts };
}
