/**
 * `--reject-threshold auto`: a rejection threshold per predicted type, chosen from the query's
 * own confidences, without labels. Among the cells given type T, a cell is an outlier when its
 * confidence lies more than `k` robust standard deviations below theirs:
 *
 *   z = atanh(r)  (Fisher's transform: correlations near 1 are squeezed, z is not)
 *   threshold_T = tanh(median_T(z) - k * 1.4826 * MAD_T(z))
 *
 * (1.4826 * MAD estimates the standard deviation of normal data; the median and MAD are not
 * pulled by the outliers they are meant to find, as a mean and standard deviation would be.)
 *
 * Why the query's cells and not the references': the references' own cells correlate with their
 * landmarks far better than any other study's cells of the same type do (pancreas: 5% quantile
 * 0.99 on the training cells, 0.90 on held-out cells of the same studies, 0.80 on the xin
 * query's known cells), so a threshold learnt on references rejects most known query cells.
 * docs/benchmarks-hard-cases.md has the figures.
 */

export const AUTO_REJECT_K = 2;
/** Types given to fewer cells keep them all: a median and MAD of a handful of cells mean little. */
export const AUTO_REJECT_MIN_CELLS = 10;

const fisherZ = (r: number) => Math.atanh(Math.min(0.999999, Math.max(-0.999999, r)));

function median(sorted: Float64Array): number {
  const n = sorted.length;
  const m = n >> 1;
  return n % 2 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
}

export interface AutoRejection {
  /** Per predicted type given to at least AUTO_REJECT_MIN_CELLS cells with some spread: the correlation below which its cells are rejected. */
  thresholds: Map<string, number>;
  /** Per cell: rejected as an outlier of its predicted type. */
  rejected: Uint8Array;
}

/**
 * @param labels predicted type per cell (before rejection)
 * @param confidence the winning correlation per cell
 */
export function autoRejection(
  labels: readonly string[],
  confidence: ArrayLike<number>,
  k: number = AUTO_REJECT_K,
  minCells: number = AUTO_REJECT_MIN_CELLS,
): AutoRejection {
  if (labels.length !== confidence.length) {
    throw new Error(`autoRejection: ${labels.length} labels but ${confidence.length} confidences`);
  }
  const cellsOf = new Map<string, number[]>();
  labels.forEach((label, cell) => {
    const cells = cellsOf.get(label);
    if (cells) cells.push(cell);
    else cellsOf.set(label, [cell]);
  });
  const thresholds = new Map<string, number>();
  for (const [label, cells] of cellsOf) {
    if (cells.length < minCells) continue;
    const z = Float64Array.from(cells, (c) => fisherZ(confidence[c])).sort();
    const centre = median(z);
    const deviations = z.map((x) => Math.abs(x - centre)).sort();
    const spread = 1.4826 * median(deviations);
    // No spread (half the cells share one value): nothing marks a cell as unusual.
    if (!(spread > 0)) continue;
    thresholds.set(label, Math.tanh(centre - k * spread));
  }
  const rejected = new Uint8Array(labels.length);
  labels.forEach((label, cell) => {
    const threshold = thresholds.get(label);
    if (threshold !== undefined && !(confidence[cell] >= threshold)) rejected[cell] = 1;
  });
  return { thresholds, rejected };
}
