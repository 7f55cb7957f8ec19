import type { TrainResult } from './messages';

/**
 * How the server merges a round's parameters. The embedded federation calls it once a
 * round; the secure-aggregation layer puts its masking protocol behind the same interface,
 * and the distributed aggregator drives it from queued results.
 */
export interface AggregationStrategy {
  readonly name: string;
  /**
   * Writes the merged parameters of `results` into `out`. The result must not depend on
   * the order in which results arrived.
   */
  aggregate(round: number, results: readonly TrainResult[], out: Float32Array): void;
}

export type Weighting = 'uniform' | 'numExamples';

/**
 * Federated averaging: the element-wise mean of the institutions' parameters, unweighted
 * (the published default) or weighted by reference cell counts. Sums run in float64 in
 * institution order, so the mean is the same whatever order results arrive in.
 */
export class FedAvg implements AggregationStrategy {
  readonly name: string;

  constructor(private readonly weighting: Weighting = 'uniform') {
    this.name = `fedavg-${weighting}`;
  }

  aggregate(_round: number, results: readonly TrainResult[], out: Float32Array): void {
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
    weightedMeanInto(
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
  const n = out.length;
  const k = vectors.length;
  if (k === 2) {
    // The common case, unrolled: it runs once a round over millions of parameters.
    const [a, b] = vectors;
    const [wa, wb] = weights;
    for (let i = 0; i < n; i++) out[i] = wa * a[i] + wb * b[i];
    return;
  }
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < k; j++) s += weights[j] * vectors[j][i];
    out[i] = s;
  }
}
