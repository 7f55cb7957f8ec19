/**
 * Plain float64 JavaScript versions of the model and the loss, for tests only: the reference
 * that the tfjs engine is compared against (and the function finite differences are taken of).
 */
import { parameterLayout, type ModelShape } from '../src/model-shape';

type NumArray = ArrayLike<number>;

/** relu(x W1 + b1) W2 + b2 for `rows` rows of x (rows x F); returns rows x E (float64). */
export function referenceForward(
  params: NumArray,
  shape: ModelShape,
  x: NumArray,
  rows: number,
): Float64Array {
  const { inputSize: f, hiddenSize: h, embeddingSize: e } = shape;
  const L = parameterLayout(shape);
  const out = new Float64Array(rows * e);
  const hidden = new Float64Array(h);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < h; j++) {
      let s = params[L.b1.offset + j];
      for (let i = 0; i < f; i++) s += x[r * f + i] * params[L.w1.offset + i * h + j];
      hidden[j] = s > 0 ? s : 0;
    }
    for (let k = 0; k < e; k++) {
      let s = params[L.b2.offset + k];
      for (let j = 0; j < h; j++) s += hidden[j] * params[L.w2.offset + j * e + k];
      out[r * e + k] = s;
    }
  }
  return out;
}

/**
 * The N-pair loss of ALGORITHM.md §4.3 written literally (with a max shift for stability):
 * mean_c log(1 + sum_{j != c} exp(a_c . p_j - a_c . p_c)) + 0.05 mean_c (|a_c|^2 + |p_c|^2).
 */
export function referenceNpairLoss(a: NumArray, p: NumArray, n: number, e: number): number {
  const dot = (u: NumArray, ui: number, v: NumArray, vi: number) => {
    let s = 0;
    for (let k = 0; k < e; k++) s += u[ui * e + k] * v[vi * e + k];
    return s;
  };
  let pairs = 0;
  let norms = 0;
  for (let c = 0; c < n; c++) {
    const own = dot(a, c, p, c);
    const diffs: number[] = [0]; // the "1 +" term is exp(0)
    for (let j = 0; j < n; j++) if (j !== c) diffs.push(dot(a, c, p, j) - own);
    const max = Math.max(...diffs);
    pairs += max + Math.log(diffs.reduce((s, d) => s + Math.exp(d - max), 0));
    norms += dot(a, c, a, c) + dot(p, c, p, c);
  }
  return pairs / n + (0.05 * norms) / n;
}

/** Loss of a stacked batch x (2n x F: anchors then positives) under `params`. */
export function referenceBatchLoss(params: NumArray, shape: ModelShape, x: NumArray, n: number): number {
  const y = referenceForward(params, shape, x, 2 * n);
  const e = shape.embeddingSize;
  return referenceNpairLoss(y.subarray(0, n * e), y.subarray(n * e), n, e);
}
