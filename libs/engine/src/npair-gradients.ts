import * as tf from '@tensorflow/tfjs-core';
import { npairBatchLoss } from './npair-loss';
import { trainingForward } from './training-forward';
import type { ModelTensors } from './upload-parameters';

/**
 * Loss and gradients of one local step: embeds the 2n cells of the batch (rows 0..n-1 the
 * anchors, rows n..2n-1 their positives, in the same type order), applies `npairBatchLoss` and
 * differentiates w.r.t. the four parameter blocks.
 *
 * The caller owns (and must dispose) the returned tensors; everything else is freed.
 *
 * @param x batch (2n x F) as gene (column) chunks matching `p.w1`: x_c (2n x F_c)
 * @param p parameter tensors (W1 chunks F_c x H, b1 H, W2 H x E, b2 E)
 * @returns loss (scalar) and gradients shaped like `p`
 */
export function npairGradients(x: tf.Tensor2D[], p: ModelTensors): { loss: tf.Scalar; grads: ModelTensors } {
  const rows = x[0]?.shape[0] ?? 0;
  if (rows < 2 || rows % 2 !== 0) {
    throw new Error(`npairGradients: the batch must have 2n rows with n >= 1, got ${rows}`);
  }
  const k = p.w1.length;
  const lossOf = (...params: tf.Tensor[]): tf.Scalar => {
    const y = trainingForward(x, {
      w1: params.slice(0, k) as tf.Tensor2D[],
      b1: params[k] as tf.Tensor1D,
      w2: params[k + 1] as tf.Tensor2D,
      b2: params[k + 2] as tf.Tensor1D,
    });
    return npairBatchLoss(y);
  };
  const { value, grads } = tf.valueAndGrads(lossOf)([...p.w1, p.b1, p.w2, p.b2]);
  return {
    loss: value as tf.Scalar,
    grads: {
      w1: grads.slice(0, k) as tf.Tensor2D[],
      b1: grads[k] as tf.Tensor1D,
      w2: grads[k + 1] as tf.Tensor2D,
      b2: grads[k + 2] as tf.Tensor1D,
    },
  };
}
