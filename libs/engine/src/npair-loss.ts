import * as tf from '@tensorflow/tfjs-core';

/** Weight of the embedding-norm penalty, as in Sohn (2016) and the published scPrivacy code. */
export const NPAIR_L2_WEIGHT = 0.05;

/**
 * Multi-class N-pair loss (ALGORITHM.md §4.3) of n (anchor, positive) pairs, one pair per type:
 *
 *   S = A P^T  (n x n),  loss = mean_c log(1 + sum_{j != c} exp(S[c,j] - S[c,c]))
 *                              + 0.05 * mean_c(||a_c||^2 + ||p_c||^2).
 *
 * The first term is computed as mean_c logsumexp_j(S[c,j] - S[c,c]) (the j = c term is
 * exp(0) = 1), i.e. cross-entropy with target c; logsumexp subtracts the row maximum, so large
 * logits stay finite. The diagonal is read out of S itself, so for n = 1 the first term is
 * exactly log(1) = 0.
 *
 * Differentiable w.r.t. both inputs with an analytic gradient (tfjs-core's Node build registers
 * no gradients of its own), with G = (softmax_rows(S) - I) / n:
 *   dL/dA = G P + (0.1 / n) A,   dL/dP = G^T A + (0.1 / n) P.
 *
 * @param anchors A = f(anchors) (n x E)
 * @param positives P = f(positives) (n x E), row c the positive of anchor row c
 * @returns the loss (scalar)
 */
export function npairLoss(anchors: tf.Tensor2D, positives: tf.Tensor2D): tf.Scalar {
  if (
    anchors.rank !== 2 ||
    positives.rank !== 2 ||
    anchors.shape[0] !== positives.shape[0] ||
    anchors.shape[1] !== positives.shape[1] ||
    anchors.shape[0] < 1
  ) {
    throw new Error(
      `npairLoss: anchors and positives must both be n x E with n >= 1; got [${anchors.shape}] and [${positives.shape}]`,
    );
  }
  return pairLossOp(anchors, positives) as tf.Scalar;
}

/**
 * {@link npairLoss} of a stacked batch: rows 0..n-1 are the anchors, rows n..2n-1 their
 * positives (same type order). Differentiable w.r.t. the batch.
 *
 * @param embeddings f(batch) (2n x E)
 * @returns the loss (scalar)
 */
export function npairBatchLoss(embeddings: tf.Tensor2D): tf.Scalar {
  if (embeddings.rank !== 2 || embeddings.shape[0] < 2 || embeddings.shape[0] % 2 !== 0) {
    throw new Error(`npairBatchLoss: embeddings must be 2n x E with n >= 1, got [${embeddings.shape}]`);
  }
  return batchLossOp(embeddings) as tf.Scalar;
}

const pairLossOp = tf.customGrad((...args: unknown[]) => {
  const [a, p, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
  save([a, p]);
  return {
    value: lossValue(a, p),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [da, dp] = lossGradients(saved[0] as tf.Tensor2D, saved[1] as tf.Tensor2D);
      return [tf.mul(dy, da), tf.mul(dy, dp)];
    },
  };
});

const batchLossOp = tf.customGrad((...args: unknown[]) => {
  const [y, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
  save([y]);
  const [a, p] = splitBatch(y);
  return {
    value: lossValue(a, p),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sp] = splitBatch(saved[0] as tf.Tensor2D);
      const [da, dp] = lossGradients(sa, sp);
      return tf.mul(dy, tf.concat([da, dp], 0));
    },
  };
});

function splitBatch(y: tf.Tensor2D): [tf.Tensor2D, tf.Tensor2D] {
  const [rows, e] = y.shape;
  const n = rows / 2;
  return [tf.slice(y, [0, 0], [n, e]), tf.slice(y, [n, 0], [n, e])];
}

/** S = A P^T with an untransposed product. */
function logitsOf(a: tf.Tensor2D, p: tf.Tensor2D): tf.Tensor2D {
  return tf.matMul(a, tf.transpose(p));
}

function lossValue(a: tf.Tensor2D, p: tf.Tensor2D): tf.Scalar {
  const n = a.shape[0];
  const logits = logitsOf(a, p);
  const diagonal = tf.sum(tf.mul(logits, tf.eye(n)), 1, true); // n x 1, S[c,c]
  const pairTerm = tf.mean(tf.logSumExp(tf.sub(logits, diagonal), 1));
  const norms = tf.add(tf.sum(tf.square(a)), tf.sum(tf.square(p)));
  return tf.add(pairTerm, tf.mul(norms, NPAIR_L2_WEIGHT / n));
}

function lossGradients(a: tf.Tensor2D, p: tf.Tensor2D): [tf.Tensor2D, tf.Tensor2D] {
  const n = a.shape[0];
  const g = tf.div(tf.sub(tf.softmax(logitsOf(a, p)), tf.eye(n)), n) as tf.Tensor2D;
  const normScale = (2 * NPAIR_L2_WEIGHT) / n;
  return [
    tf.add(tf.matMul(g, p), tf.mul(a, normScale)),
    tf.add(tf.matMul(tf.transpose(g), a), tf.mul(p, normScale)),
  ];
}
