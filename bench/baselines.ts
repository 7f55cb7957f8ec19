/**
 * Centralised baselines for the hard cases (no privacy): the references pooled into one matrix
 * over the union of their genes, the query aligned to the same genes as the engine aligns it
 * (`alignToGenes`: genes it lacks are zero, genes the model lacks are dropped).
 *
 * - Logistic regression: multinomial, L2, trained with tfjs (its optimiser and its gradients).
 *   `lr` on the raw values over the union of genes (what an engine given the same files sees);
 *   `lr-std` on the genes every reference and the query measure, standardised as the nearest
 *   centroid's are (each study's scale then counts less: baron and wang differ several-fold).
 * - Nearest centroid: on the genes that every reference and the query measure, standardised with
 *   the pooled references' mean and standard deviation; per-type means (plain arithmetic),
 *   cosine similarity. (Over the union, the zeros that stand for unmeasured genes dominate the
 *   standardised distances: 0.21 on pancreas, where the query has 980 of 12,521 genes.)
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@fl/engine';
import './tfjs-gradients';
import type { ExpressionMatrix } from '@fl/formats';
import { alignToGenes, buildGeneUnion, normaliseGeneName } from '@fl/federation';

/** Cells x genes, row-major, with a label per cell when it is training data. */
export interface Rows {
  values: Float32Array;
  nCells: number;
  nGenes: number;
}

export interface LabelledRows extends Rows {
  labels: readonly string[];
}

/** The references pooled over the union of their genes, and the query aligned to those genes. */
export function poolReferences(
  references: readonly ExpressionMatrix[],
  query: ExpressionMatrix,
): { train: LabelledRows; query: Rows; genes: string[]; sharedGenes: boolean[] } {
  const genes = buildGeneUnion(references.map((r) => r.genes));
  const aligned = references.map((r) => alignToGenes(r, genes));
  const nCells = aligned.reduce((n, a) => n + a.nCells, 0);
  const values = new Float32Array(nCells * genes.length);
  let at = 0;
  for (const a of aligned) {
    values.set(a.values, at);
    at += a.values.length;
  }
  const labels = references.flatMap((r) => {
    if (!r.labels) throw new Error(`${r.source}: a reference needs labels`);
    return r.labels;
  });
  const q = alignToGenes(query, genes);
  const measured = [...references, query].map((m) => new Set(m.genes.map(normaliseGeneName)));
  const sharedGenes = genes.map((g) => measured.every((set) => set.has(g)));
  return {
    train: { values, nCells, nGenes: genes.length, labels },
    query: { values: q.values, nCells: q.nCells, nGenes: genes.length },
    genes,
    sharedGenes,
  };
}

export interface LogisticRegressionOptions {
  /**
   * Inverse regularisation strength as in scikit-learn's LogisticRegression (default 1): the
   * objective is the mean cross-entropy + ||W||^2 / (2 C n), i.e. scikit-learn's divided by n.
   */
  C?: number;
  /** Adam steps on the full batch (default 2000); stops earlier once the loss stops improving. */
  maxSteps?: number;
  learningRate?: number;
  /** Stop when the best loss of the last `patience` steps is not this much (relative) below the best of the `patience` before. */
  tolerance?: number;
  patience?: number;
  /**
   * Steps before the stopping rule applies (default 300): on raw log-expression the first steps
   * can overshoot (a rule on the best loss ever stopped pbmc_10x_3p_v2 after 55 steps).
   */
  minSteps?: number;
}

export interface LinearClassifier {
  types: string[];
  /** nGenes x types, row-major. */
  weights: Float32Array;
  bias: Float32Array;
  steps: number;
  finalLoss: number;
}

/** Types sorted, and each cell's type index. */
function encode(labels: readonly string[]): { types: string[]; codes: Int32Array } {
  const types = [...new Set(labels)].sort();
  const index = new Map(types.map((t, i) => [t, i]));
  return { types, codes: Int32Array.from(labels, (l) => index.get(l)!) };
}

/**
 * Multinomial logistic regression with an L2 penalty on the weights (not the bias), weights and
 * bias from zero (the objective is convex, so the start only affects the path), full-batch Adam.
 * Deterministic for the same data and options.
 */
export async function trainLogisticRegression(
  train: LabelledRows,
  options: LogisticRegressionOptions = {},
): Promise<LinearClassifier> {
  const {
    C = 1,
    maxSteps = 2000,
    learningRate = 0.05,
    tolerance = 1e-3,
    patience = 50,
    minSteps = 300,
  } = options;
  await initBackend();
  const { types, codes } = encode(train.labels);
  const l2 = 1 / (2 * C * train.nCells);
  const x = tf.tensor2d(train.values, [train.nCells, train.nGenes]);
  const y = tf.oneHot(tf.tensor1d(codes, 'int32'), types.length);
  const w = tf.variable(tf.zeros([train.nGenes, types.length]));
  const b = tf.variable(tf.zeros([types.length]));
  const optimizer = tf.train.adam(learningRate);
  const objective = () =>
    tf.tidy(() => {
      const logits = tf.add(tf.matMul(x, w), b);
      const crossEntropy = tf.losses.softmaxCrossEntropy(y, logits);
      return tf.add(crossEntropy, tf.mul(tf.sum(tf.square(w)), l2)) as tf.Scalar;
    });
  const losses: number[] = [];
  try {
    while (losses.length < maxSteps) {
      const loss = optimizer.minimize(objective, true, [w, b])!;
      losses.push((await loss.data())[0]);
      loss.dispose();
      if (losses.length >= Math.max(minSteps, 2 * patience) && !improving(losses, patience, tolerance)) break;
    }
    return {
      types,
      weights: (await w.data()) as Float32Array,
      bias: (await b.data()) as Float32Array,
      steps: losses.length,
      finalLoss: losses[losses.length - 1],
    };
  } finally {
    tf.dispose([x, y, w, b]);
    optimizer.dispose();
  }
}

/**
 * Whether the loss is still going down: the best of the last `window` steps is `tolerance`
 * (relative) below the best of the `window` before. Comparing windows rather than single steps
 * rides out Adam's oscillations, and comparing recent windows rather than the best ever rides out
 * an early overshoot that takes a while to recover from.
 */
export function improving(losses: readonly number[], window: number, tolerance: number): boolean {
  const n = losses.length;
  const last = Math.min(...losses.slice(n - window));
  const before = Math.min(...losses.slice(n - 2 * window, n - window));
  return last < before * (1 - tolerance);
}

/** The type of highest logit for each query cell (ties: the first type in sorted order). */
export async function predictLinear(model: LinearClassifier, query: Rows): Promise<string[]> {
  await initBackend();
  const best = tf.tidy(() =>
    tf.argMax(
      tf.add(
        tf.matMul(
          tf.tensor2d(query.values, [query.nCells, query.nGenes]),
          tf.tensor2d(model.weights, [query.nGenes, model.types.length]),
        ),
        tf.tensor1d(model.bias),
      ),
      1,
    ),
  );
  const codes = await best.data();
  best.dispose();
  return Array.from(codes, (c) => model.types[c]);
}

export interface CentroidClassifier {
  types: string[];
  /** Per gene: the pooled references' mean and 1 / standard deviation (0 for a constant gene). */
  mean: Float64Array;
  inverseSd: Float64Array;
  /** types x genes, standardised, row-major. */
  centroids: Float64Array;
}

/** Per gene: the pooled references' mean and 1 / standard deviation (0: a gene not used, or constant). */
export interface GeneScaling {
  mean: Float64Array;
  inverseSd: Float64Array;
}

/**
 * The pooled references' per-gene mean and standard deviation (plain arithmetic, in float64). A
 * gene not in `use` (default: all) gets weight 0, and so does a gene constant over the
 * references: it says nothing of type.
 */
export function geneScaling(train: Rows, use?: readonly boolean[]): GeneScaling {
  const { nCells, nGenes, values } = train;
  const mean = new Float64Array(nGenes);
  const sq = new Float64Array(nGenes);
  for (let c = 0; c < nCells; c++) {
    for (let g = 0; g < nGenes; g++) mean[g] += values[c * nGenes + g];
  }
  for (let g = 0; g < nGenes; g++) mean[g] /= nCells;
  for (let c = 0; c < nCells; c++) {
    for (let g = 0; g < nGenes; g++) sq[g] += (values[c * nGenes + g] - mean[g]) ** 2;
  }
  const inverseSd = Float64Array.from(sq, (s, g) =>
    s > 0 && (use?.[g] ?? true) ? 1 / Math.sqrt(s / nCells) : 0,
  );
  return { mean, inverseSd };
}

/** Rows standardised with `scaling`, keeping only the genes it weighs (inverseSd > 0). */
export function standardiseRows(rows: Rows, scaling: GeneScaling): Rows {
  const kept: number[] = [];
  scaling.inverseSd.forEach((w, g) => {
    if (w > 0) kept.push(g);
  });
  const values = new Float32Array(rows.nCells * kept.length);
  for (let c = 0; c < rows.nCells; c++) {
    kept.forEach((g, j) => {
      values[c * kept.length + j] =
        (rows.values[c * rows.nGenes + g] - scaling.mean[g]) * scaling.inverseSd[g];
    });
  }
  return { values, nCells: rows.nCells, nGenes: kept.length };
}

/**
 * Per-type means of the standardised pooled references (plain arithmetic, in float64), over the
 * genes `use` marks (default: all).
 */
export function trainNearestCentroid(train: LabelledRows, use?: readonly boolean[]): CentroidClassifier {
  const { nCells, nGenes, values } = train;
  const { types, codes } = encode(train.labels);
  const { mean, inverseSd } = geneScaling(train, use);
  const centroids = new Float64Array(types.length * nGenes);
  const counts = new Float64Array(types.length);
  for (let c = 0; c < nCells; c++) {
    const t = codes[c];
    counts[t]++;
    for (let g = 0; g < nGenes; g++) {
      centroids[t * nGenes + g] += (values[c * nGenes + g] - mean[g]) * inverseSd[g];
    }
  }
  for (let t = 0; t < types.length; t++) {
    for (let g = 0; g < nGenes; g++) centroids[t * nGenes + g] /= counts[t];
  }
  return { types, mean, inverseSd, centroids };
}

/**
 * Each query cell standardised with the references' statistics and given the type of the
 * centroid of highest cosine similarity (ties: the first type in sorted order).
 */
export function predictNearestCentroid(model: CentroidClassifier, query: Rows): string[] {
  const { nGenes } = query;
  const nTypes = model.types.length;
  const norms = Array.from({ length: nTypes }, (_, t) => {
    let s = 0;
    for (let g = 0; g < nGenes; g++) s += model.centroids[t * nGenes + g] ** 2;
    return Math.sqrt(s) || 1;
  });
  const z = new Float64Array(nGenes);
  const labels: string[] = [];
  for (let c = 0; c < query.nCells; c++) {
    for (let g = 0; g < nGenes; g++)
      z[g] = (query.values[c * nGenes + g] - model.mean[g]) * model.inverseSd[g];
    let best = 0;
    let bestScore = -Infinity;
    for (let t = 0; t < nTypes; t++) {
      let dot = 0;
      for (let g = 0; g < nGenes; g++) dot += z[g] * model.centroids[t * nGenes + g];
      const score = dot / norms[t]; // the cell's own norm is the same for every type
      if (score > bestScore) {
        bestScore = score;
        best = t;
      }
    }
    labels.push(model.types[best]);
  }
  return labels;
}
