import * as tf from '@tensorflow/tfjs-core';
import { npairBatchLoss } from './npair-loss';
import { trainingForward } from './training-forward';
import type { ModelTensors } from './upload-parameters';

/**
 * Loss and gradients of one local step: embeds the 2n cells of the batch (rows 0..n-1 the
 * anchors, rows n..2n-1 their positives, in the same type order), applies {@link npairLoss} and
 * differentiates w.r.t. the four parameter blocks.
 *
 * The caller owns (and must dispose) the returned tensors; everything else is freed.
 *
 * @param x batch (2n x F)
 * @param p parameter tensors (W1 F x H, b1 H, W2 H x E, b2 E)
 * @returns loss (scalar) and gradients shaped like `p`
 */
export function npairGradients(x: tf.Tensor2D, p: ModelTensors): { loss: tf.Scalar; grads: ModelTensors } {
  if (x.rank !== 2 || x.shape[0] < 2 || x.shape[0] % 2 !== 0) {
    throw new Error(`npairGradients: x must be 2n x F with n >= 1, got [${x.shape}]`);
  }
  const lossOf = (w1: tf.Tensor, b1: tf.Tensor, w2: tf.Tensor, b2: tf.Tensor): tf.Scalar => {
    const y = trainingForward(x, {
      w1: w1 as tf.Tensor2D,
      b1: b1 as tf.Tensor1D,
      w2: w2 as tf.Tensor2D,
      b2: b2 as tf.Tensor1D,
    });
    return npairBatchLoss(y);
  };
  const { value, grads } = tf.valueAndGrads(lossOf)([p.w1, p.b1, p.w2, p.b2]);
  return {
    loss: value as tf.Scalar,
    grads: {
      w1: grads[0] as tf.Tensor2D,
      b1: grads[1] as tf.Tensor1D,
      w2: grads[2] as tf.Tensor2D,
      b2: grads[3] as tf.Tensor1D,
    },
  };
}
