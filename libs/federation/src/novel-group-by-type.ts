import { lowerGroupBoundary, lowerGroupProbability, type Components, type TwoGroups } from './two-groups';

/**
 * Step 1 of `--reject-threshold auto`, judged per predicted type: a mixture in which every
 * predicted type has its own component of known cells and its own component of novel cells, each
 * shrunk towards the query's pooled one.
 *
 * Why: the known types of a query do not correlate equally well with their landmarks (pancreas:
 * alpha cells around r = 0.96, delta cells 0.90), so one threshold for every type, placed where
 * the query-wide lower group's probability falls to 0.9, cuts deep into the looser known types:
 * it rejected 6% of the known cells on pancreas without alpha (3.6% per type).
 *
 *   z_c ~ w_T N(nu_T, tau_T) + (1 - w_T) N(mu_T, sd_T)     T = the type cell c was given
 *
 * The known components are expected to differ between types, and get a weak prior:
 * KNOWN_PRIOR_CELLS pseudo-cells of the pooled known component (an empirical-Bayes prior in the
 * normal-inverse-gamma's pseudo-count form). A type given mostly novel cells (pbmc without B
 * cells: 68 of the 72 cells given `DC`) cannot estimate its known component from its own cells;
 * with fewer pseudo-cells (10) that component moved onto the novel cells and kept them, and so
 * the known means are also held at or above the point where the query-wide fit finds a cell as
 * likely novel as known (and the novel means at or below it).
 *
 * The novel components are expected to be one: cells of a type no reference holds correlate
 * poorly with every landmark. But not equally poorly: the novel cells given the known type they
 * most resemble correlate better with it (pbmc without T/NK cells: those given `B cells` at a
 * median r of 0.72, those given `Platelet` 0.38). One shared novel component took 75% of the
 * held-out T/NK cells; NOVEL_PRIOR_CELLS = 300 pseudo-cells lets a type's novel component depart
 * from the pooled one only where it holds hundreds of novel cells. Both priors were chosen on the
 * leave-one-type-out runs, seeds 1-10, where a sweep of each is recorded
 * (docs/benchmarks-hard-cases.md, "Step 1 per predicted type").
 *
 * Fitted by expectation-maximisation from the query-wide two-group fit and each type's upper
 * half (its median and robust spread). Written by hand for the reason two-groups.ts gives: no
 * maintained npm package fits a constrained 1-D mixture.
 */
export const KNOWN_PRIOR_CELLS = 30;
export const NOVEL_PRIOR_CELLS = 300;

/** Floor on a component's standard deviation, so a component of equal values cannot collapse. */
const MIN_SD = 0.02;
/** Bounds on a type's novel weight, so no type is certain before it has been looked at. */
const MIN_WEIGHT = 1e-6;
const MAX_WEIGHT = 0.999;

export interface NovelGroupByType {
  /** The pooled novel component (Fisher z) the types' novel components are shrunk towards. */
  novel: { mean: number; sd: number };
  /** The pooled known component the types' known components are shrunk towards. */
  known: { mean: number; sd: number };
  /** Per predicted type, in the order of `types`. */
  types: string[];
  /** Fraction of the type's cells in its novel component. */
  weight: number[];
  /** The type's known component. */
  mean: number[];
  sd: number[];
  /** The type's novel component. */
  novelMean: number[];
  novelSd: number[];
  /** Per cell: the probability of its type's novel component. */
  novelProbability: Float64Array;
}

function median(sorted: readonly number[]): number {
  const n = sorted.length;
  const m = n >> 1;
  return n % 2 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
}

/** One component's weighted sums per type: cells, sum of z, sum of z squared. */
interface Sums {
  cells: Float64Array;
  sum: Float64Array;
  squares: Float64Array;
}

const sumsFor = (k: number): Sums => ({
  cells: new Float64Array(k),
  sum: new Float64Array(k),
  squares: new Float64Array(k),
});

/**
 * Each type's mean and sd of one component, shrunk towards the pooled component by `prior`
 * pseudo-cells (means: (sum + prior x pooled mean) / (cells + prior); variances likewise, each
 * type's around its own mean), the means clamped to `[lowest, highest]`.
 */
function shrunk(s: Sums, prior: number, lowest: number, highest: number) {
  const cells = s.cells.reduce((a, b) => a + b, 0);
  const pooledMean = s.sum.reduce((a, b) => a + b, 0) / cells;
  const pooledVariance = Math.max(0, s.squares.reduce((a, b) => a + b, 0) / cells - pooledMean ** 2);
  const mean = Array.from(s.cells, (n, t) =>
    Math.min(highest, Math.max(lowest, (s.sum[t] + prior * pooledMean) / (n + prior))),
  );
  const sd = Array.from(s.cells, (n, t) => {
    // The type's own sum of squares around its (shrunk) mean, plus the prior's.
    const own = s.squares[t] - 2 * mean[t] * s.sum[t] + n * mean[t] ** 2;
    return Math.max(MIN_SD, Math.sqrt((Math.max(0, own) + prior * pooledVariance) / (n + prior)));
  });
  return { pooled: { mean: pooledMean, sd: Math.sqrt(pooledVariance) }, mean, sd };
}

/**
 * @param labels predicted type per cell
 * @param z Fisher z of each cell's confidence
 * @param start the query-wide two-group fit (its groups start every type's components)
 * @param priorCells pseudo-cells of the pooled known component behind each type's
 * @param split known components centre at or above it, novel ones at or below (none: -Infinity)
 * @param novelPriorCells pseudo-cells of the pooled novel component behind each type's
 */
export function fitNovelGroupByType(
  labels: readonly string[],
  z: ArrayLike<number>,
  start: TwoGroups,
  priorCells: number = KNOWN_PRIOR_CELLS,
  split = -Infinity,
  novelPriorCells: number = NOVEL_PRIOR_CELLS,
  iterations = 500,
): NovelGroupByType {
  const n = z.length;
  if (labels.length !== n) throw new Error(`fitNovelGroupByType: ${labels.length} labels but ${n} values`);
  const types = [...new Set(labels)].sort();
  const indexOf = new Map(types.map((t, i) => [t, i]));
  const typeOf = Int32Array.from(labels, (l) => indexOf.get(l)!);
  const k = types.length;
  const upperSplit = Number.isFinite(split) ? split : Infinity;
  let novelMean = new Array<number>(k).fill(Math.min(upperSplit, start.mean[0]));
  let novelSd = new Array<number>(k).fill(Math.max(MIN_SD, start.sd[0]));
  let mean = new Array<number>(k);
  let sd = new Array<number>(k);
  const weight = new Array<number>(k).fill(start.weight[0]);
  for (let t = 0; t < k; t++) {
    const own: number[] = [];
    for (let c = 0; c < n; c++) if (typeOf[c] === t) own.push(z[c]);
    own.sort((a, b) => a - b);
    const upper = own.slice(own.length >> 1);
    mean[t] = Math.max(split, median(upper));
    sd[t] = Math.max(MIN_SD, 1.4826 * median(upper.map((x) => Math.abs(x - mean[t])).sort((a, b) => a - b)));
  }
  const p = new Float64Array(n);
  let pooledNovel = { mean: start.mean[0], sd: start.sd[0] };
  let pooledKnown = { mean: start.mean[1], sd: start.sd[1] };
  for (let it = 0; it < iterations; it++) {
    // E step: each cell's probability of its type's novel component.
    const components = types.map((_, t) => componentsOf(weight[t], novelMean[t], novelSd[t], mean[t], sd[t]));
    for (let c = 0; c < n; c++) p[c] = lowerGroupProbability(components[typeOf[c]], z[c]);
    // M step: each type's two components from its cells, shrunk towards the pooled ones.
    const known = sumsFor(k);
    const novel = sumsFor(k);
    for (let c = 0; c < n; c++) {
      const t = typeOf[c];
      const x = z[c];
      known.cells[t] += 1 - p[c];
      known.sum[t] += (1 - p[c]) * x;
      known.squares[t] += (1 - p[c]) * x * x;
      novel.cells[t] += p[c];
      novel.sum[t] += p[c] * x;
      novel.squares[t] += p[c] * x * x;
    }
    const novelTotal = novel.cells.reduce((a, b) => a + b, 0);
    if (novelTotal < 1e-9 || n - novelTotal < 1e-9) break; // one component took every cell
    const nextKnown = shrunk(known, priorCells, split, Infinity);
    const nextNovel = shrunk(novel, novelPriorCells, -Infinity, upperSplit);
    let moved = 0;
    for (let t = 0; t < k; t++) {
      moved += Math.abs(nextKnown.mean[t] - mean[t]) + Math.abs(nextNovel.mean[t] - novelMean[t]);
      weight[t] = Math.min(
        MAX_WEIGHT,
        Math.max(MIN_WEIGHT, novel.cells[t] / (novel.cells[t] + known.cells[t])),
      );
    }
    [mean, sd, novelMean, novelSd] = [nextKnown.mean, nextKnown.sd, nextNovel.mean, nextNovel.sd];
    [pooledKnown, pooledNovel] = [nextKnown.pooled, nextNovel.pooled];
    if (moved < 1e-10) break;
  }
  return {
    novel: pooledNovel,
    known: pooledKnown,
    types,
    weight,
    mean,
    sd,
    novelMean,
    novelSd,
    novelProbability: p,
  };
}

/** Type `t`'s two components, novel (lower) first, as two-groups.ts takes them. */
function componentsOf(
  weight: number,
  novelMean: number,
  novelSd: number,
  mean: number,
  sd: number,
): Components {
  return { weight: [weight, 1 - weight], mean: [novelMean, mean], sd: [novelSd, sd] };
}

const typeComponents = (fit: NovelGroupByType, t: number): Components =>
  componentsOf(fit.weight[t], fit.novelMean[t], fit.novelSd[t], fit.mean[t], fit.sd[t]);

/** The probability that a cell of type index `t` with value `x` is novel, under the fit. */
export function novelProbabilityOf(fit: NovelGroupByType, t: number, x: number): number {
  return lowerGroupProbability(typeComponents(fit, t), x);
}

/**
 * Type `t`'s rejection boundary: the largest x between the type's novel mean and its known mean
 * whose novel probability is still >= `p` (two-groups.ts's bisection). Cells of the type below it
 * are rejected; cells above the type's known mean never are, even where a novel component wider
 * than the known one would claim the far upper tail too. When even the novel mean is below `p`,
 * the boundary is the novel mean.
 */
export function novelBoundary(fit: NovelGroupByType, t: number, p: number): number {
  const components = typeComponents(fit, t);
  // A known mean held below the novel one (no split): search up to the novel mean only.
  components.mean[1] = Math.max(components.mean[0], components.mean[1]);
  return lowerGroupBoundary(components, p);
}
