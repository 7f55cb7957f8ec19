import type { MaskPlan } from '@fl/secure-agg';
import type { TrainResult } from './messages';

/**
 * How the server merges a round's parameters. The embedded federation calls it once a
 * round; the secure-aggregation layer puts its masking protocol behind the same interface,
 * and the distributed aggregator drives it from queued results.
 */
export interface AggregationStrategy {
  readonly name: string;
  /**
   * Secure aggregation: called before each round's training with the institutions' indices;
   * returns each institution's mask plan, so it can mask its update as soon as it has trained.
   */
  planRound?(round: number, institutions: readonly number[], length: number): Promise<Map<number, MaskPlan>>;
  /**
   * Writes the merged parameters of `results` into `out` (which holds the global model the round
   * started from). The result must not depend on the order in which results arrived.
   */
  aggregate(round: number, results: readonly TrainResult[], out: Float32Array): void | Promise<void>;
}

/**
 * Computes out = sum_k weights[k] * vectors[k]. The default runs in this thread; an institution
 * pool whose results live in shared memory offers one that splits the parameters over its threads.
 */
export type WeightedMeanKernel = (
  vectors: readonly Float32Array[],
  weights: Float64Array,
  out: Float32Array,
) => void | Promise<void>;

export type Weighting = 'uniform' | 'numExamples';

/**
 * Federated averaging: the element-wise mean of the institutions' parameters, unweighted
 * (the published default) or weighted by reference cell counts. Sums run in float64 in
 * institution order, so the mean is the same whatever order results arrive in.
 */
export class FedAvg implements AggregationStrategy {
  readonly name: string;

  constructor(
    private readonly weighting: Weighting = 'uniform',
    private readonly kernel: WeightedMeanKernel = weightedMeanInto,
  ) {
    this.name = `fedavg-${weighting}`;
  }

  async aggregate(_round: number, results: readonly TrainResult[], out: Float32Array): Promise<void> {
    if (results.length === 0) throw new Error('FedAvg.aggregate: no results to aggregate');
    const ordered = [...results].sort((a, b) => a.institution - b.institution);
    for (const r of ordered) {
      if (r.params.length !== out.length) {
        throw new Error(
          `FedAvg.aggregate: institution ${r.institution} sent ${r.params.length} parameters, expected ${out.length}`,
        );
      }
    }
    const weights = this.weights(ordered);
    await this.kernel(
      ordered.map((r) => r.params),
      weights,
      out,
    );
  }

  private weights(results: readonly TrainResult[]): Float64Array {
    const w = new Float64Array(results.length);
    const total =
      this.weighting === 'uniform' ? results.length : results.reduce((s, r) => s + r.numExamples, 0);
    results.forEach((r, i) => (w[i] = (this.weighting === 'uniform' ? 1 : r.numExamples) / total));
    return w;
  }
}

/** out[i] = sum_k weights[k] * vectors[k][i], accumulated in float64 in k order. */
export function weightedMeanInto(
  vectors: readonly Float32Array[],
  weights: Float64Array,
  out: Float32Array,
): void {
  weightedMeanRange(vectors, weights, out, 0, out.length);
}

/**
 * weightedMeanInto over [lo, hi) only, so threads can share the work. Every element is
 * computed by the same expression (w0*a + w1*b + ..., left to right, in float64) whichever
 * branch or thread runs it, so results are the same bits however the range is split.
 */
export function weightedMeanRange(
  vectors: readonly Float32Array[],
  weights: Float64Array,
  out: Float32Array,
  lo: number,
  hi: number,
): void {
  const k = vectors.length;
  // Unrolled common cases: this runs once a round over millions of parameters.
  if (k === 1) {
    const [a] = vectors;
    const [wa] = weights;
    for (let i = lo; i < hi; i++) out[i] = wa * a[i];
  } else if (k === 2) {
    const [a, b] = vectors;
    const [wa, wb] = weights;
    for (let i = lo; i < hi; i++) out[i] = wa * a[i] + wb * b[i];
  } else if (k === 3) {
    const [a, b, c] = vectors;
    const [wa, wb, wc] = weights;
    for (let i = lo; i < hi; i++) out[i] = wa * a[i] + wb * b[i] + wc * c[i];
  } else if (k === 4) {
    const [a, b, c, d] = vectors;
    const [wa, wb, wc, wd] = weights;
    for (let i = lo; i < hi; i++) out[i] = wa * a[i] + wb * b[i] + wc * c[i] + wd * d[i];
  } else {
    for (let i = lo; i < hi; i++) {
      let s = weights[0] * vectors[0][i];
      for (let j = 1; j < k; j++) s += weights[j] * vectors[j][i];
      out[i] = s;
    }
  }
}
