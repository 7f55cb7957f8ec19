import {
  fitNovelGroupByType,
  KNOWN_PRIOR_CELLS,
  NOVEL_PRIOR_CELLS,
  novelBoundary,
} from './novel-group-by-type';
import { fitTwoGroups, lowerGroupBoundary, type TwoGroups } from './two-groups';

/**
 * `--reject-threshold auto`: rejection chosen from the query's own confidences, without labels,
 * in two steps.
 *
 * 1. A group of cells no reference knows. Cells of a type that no reference holds correlate
 *    poorly with every landmark, and when there are many of them the query's confidences form
 *    two groups (pancreas without alpha: r around 0.5-0.6 against 0.92-0.95 for the known
 *    types). A two-component Gaussian mixture is fitted to every cell's z = atanh(r); when its
 *    groups are clearly apart (Ashman's D >= NOVEL_GROUP_MIN_SEPARATION) and the lower one holds
 *    at least NOVEL_GROUP_MIN_WEIGHT of the cells, the query holds such a group, and step 2 is
 *    skipped. Which cells belong to it is then judged per predicted type
 *    (novel-group-by-type.ts): each type gets its own components of known and of novel cells,
 *    shrunk towards the query's pooled ones, and a cell is rejected while its probability of its
 *    type's novel component is at least NOVEL_GROUP_PROBABILITY. (One query-wide cut at that
 *    probability, as first built, cut into the looser known types: 6% of the known cells on
 *    pancreas without alpha, 3.6% per type.) Measured on the leave-one-type-out cases: a query
 *    without a novel type mostly gave D < 3, but up to 3.4 (pbmc) and 4.5 (pancreas, published model);
 *    with one, 3.3-4.8 (docs/algorithm.md, Rejection). 3.6 trades a few novel cells for fewer
 *    false groups.
 * 2. Otherwise, outliers per predicted type. Among the cells given type T, a cell is an outlier
 *    when its confidence lies more than `k` robust standard deviations below theirs:
 *
 *   z = atanh(r)  (Fisher's transform: correlations near 1 are squeezed, z is not)
 *   threshold_T = tanh(median_T(z) - k * 1.4826 * MAD_T(z))
 *
 * (1.4826 * MAD estimates the standard deviation of normal data; the median and MAD are not
 * pulled by the outliers they are meant to find, as a mean and standard deviation would be.)
 * k = 3, the classical outlier cut: the known cells' confidences have a long lower tail, and
 * k = 2 took 7-9% of them from a query with nothing to find (3-5% at k = 3).
 *
 * A type given fewer than AUTO_REJECT_MIN_CELLS cells is judged by the query's cells as a whole
 * (the same rule on all of them): a median and MAD of a handful of cells mean little, and novel
 * cells often land on types the query barely holds (pancreas without delta: 15% of the held-out
 * cells given `ductal`, 6% `stellate`), which kept them all before.
 *
 * Why the query's cells and not the references': the references' own cells correlate with their
 * landmarks far better than any other study's cells of the same type do (pancreas: 5% quantile
 * 0.99 on the training cells, 0.90 on held-out cells of the same studies, 0.80 on the xin
 * query's known cells), so a threshold learnt on references rejects most known query cells.
 * docs/benchmarks-hard-cases.md has the figures.
 */

export const AUTO_REJECT_K = 3;
/** Step 1's groups must be at least this far apart (Ashman's D; 2 is "clearly bimodal"). */
export const NOVEL_GROUP_MIN_SEPARATION = 3.6;
/** ... and the lower group must hold at least this fraction of the cells. */
export const NOVEL_GROUP_MIN_WEIGHT = 0.05;
/** A cell is rejected in step 1 while its probability of the lower group is at least this. */
export const NOVEL_GROUP_PROBABILITY = 0.9;
/** Step 1 needs this many cells for a mixture to mean anything. */
export const NOVEL_GROUP_MIN_CELLS = 50;
/** Step 2 judges a type given fewer cells by the query's cells as a whole (and a query of fewer, not at all). */
export const AUTO_REJECT_MIN_CELLS = 10;

const fisherZ = (r: number) => Math.atanh(Math.min(0.999999, Math.max(-0.999999, r)));

function median(sorted: Float64Array): number {
  const n = sorted.length;
  const m = n >> 1;
  return n % 2 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
}

/** Step 1's finding: the query holds a group of cells no reference knows. */
export interface NovelGroup {
  /** Ashman's D of the query-wide two groups. */
  separation: number;
  /** The query-wide groups' mean correlations (tanh of their mean z), lower first. */
  meanCorrelation: [number, number];
  /** Cells rejected. */
  cells: number;
}

export interface AutoRejection {
  /**
   * Per predicted type: the correlation below which its cells are rejected. Step 2: every type
   * whose cells (or, for a type of fewer than AUTO_REJECT_MIN_CELLS, the query's) have some
   * spread; step 1: every predicted type.
   */
  thresholds: Map<string, number>;
  /** Present when step 1 found a group of cells no reference knows (then step 2 did not run). */
  novelGroup?: NovelGroup;
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
  const z = Float64Array.from(confidence, fisherZ);
  const groups = novelGroupFit(z);
  if (groups) return novelGroupRejection(labels, z, groups);
  const cellsOf = new Map<string, number[]>();
  labels.forEach((label, cell) => {
    const cells = cellsOf.get(label);
    if (cells) cells.push(cell);
    else cellsOf.set(label, [cell]);
  });
  const thresholds = new Map<string, number>();
  const everyCell = labels.length >= minCells ? outlierThreshold(confidence, labels.keys(), k) : undefined;
  for (const [label, cells] of cellsOf) {
    const threshold = cells.length >= minCells ? outlierThreshold(confidence, cells, k) : everyCell;
    if (threshold !== undefined) thresholds.set(label, threshold);
  }
  const rejected = new Uint8Array(labels.length);
  labels.forEach((label, cell) => {
    const threshold = thresholds.get(label);
    if (threshold !== undefined && !(confidence[cell] >= threshold)) rejected[cell] = 1;
  });
  return { thresholds, rejected };
}

/**
 * median - k robust sds of the cells' z, as a correlation; undefined when they have no spread
 * (half of them share one value: nothing marks a cell as unusual).
 */
function outlierThreshold(
  confidence: ArrayLike<number>,
  cells: Iterable<number>,
  k: number,
): number | undefined {
  const z = Float64Array.from(cells, (c) => fisherZ(confidence[c])).sort();
  const centre = median(z);
  const spread = 1.4826 * median(z.map((x) => Math.abs(x - centre)).sort());
  return spread > 0 ? Math.tanh(centre - k * spread) : undefined;
}

/** Step 1's test: the query-wide two-group fit when its lower group is clearly separate, else undefined. */
function novelGroupFit(z: Float64Array): TwoGroups | undefined {
  if (z.length < NOVEL_GROUP_MIN_CELLS) return undefined;
  const groups = fitTwoGroups(z);
  if (groups.separation < NOVEL_GROUP_MIN_SEPARATION || groups.weight[0] < NOVEL_GROUP_MIN_WEIGHT)
    return undefined;
  return groups;
}

/** Step 1: whether the query's confidences hold a clearly separate lower group, and how far apart. */
export function novelGroup(
  confidence: ArrayLike<number>,
): Pick<NovelGroup, 'separation' | 'meanCorrelation'> | undefined {
  const groups = novelGroupFit(Float64Array.from(confidence, fisherZ));
  return groups && describeGroups(groups);
}

const describeGroups = (groups: TwoGroups): Pick<NovelGroup, 'separation' | 'meanCorrelation'> => ({
  separation: groups.separation,
  meanCorrelation: [Math.tanh(groups.mean[0]), Math.tanh(groups.mean[1])],
});

/**
 * Step 1's rejection, per predicted type: a cell is rejected below its type's boundary, where its
 * probability of the type's novel component falls to NOVEL_GROUP_PROBABILITY. No type's known
 * component may centre below the point where the query-wide fit finds a cell as likely novel as
 * known, nor its novel one above: without that split, a type given mostly novel cells could take
 * them as its known ones.
 */
function novelGroupRejection(labels: readonly string[], z: Float64Array, groups: TwoGroups): AutoRejection {
  const split = lowerGroupBoundary(groups, 0.5);
  const fit = fitNovelGroupByType(labels, z, groups, KNOWN_PRIOR_CELLS, split, NOVEL_PRIOR_CELLS);
  const boundary = new Map(
    fit.types.map((type, t) => [type, novelBoundary(fit, t, NOVEL_GROUP_PROBABILITY)]),
  );
  const rejected = new Uint8Array(labels.length);
  let cells = 0;
  labels.forEach((label, c) => {
    if (!(z[c] >= boundary.get(label)!)) {
      rejected[c] = 1;
      cells++;
    }
  });
  const thresholds = new Map(fit.types.map((type) => [type, Math.tanh(boundary.get(type)!)] as const));
  return { thresholds, rejected, novelGroup: { ...describeGroups(groups), cells } };
}
