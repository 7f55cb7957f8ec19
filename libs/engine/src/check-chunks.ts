import type * as tf from '@tensorflow/tfjs-core';

/** Throws (naming `fn`) unless the chunks of x (B x F_c), W (F_c x H) and b (H) fit together. */
export function checkChunks(fn: string, x: tf.Tensor2D[], w: tf.Tensor2D[], b: tf.Tensor1D): void {
  const ok =
    x.length >= 1 &&
    x.length === w.length &&
    b.rank === 1 &&
    x.every(
      (xc, c) =>
        xc.rank === 2 &&
        w[c].rank === 2 &&
        xc.shape[0] === x[0].shape[0] &&
        xc.shape[1] === w[c].shape[0] &&
        w[c].shape[1] === b.shape[0],
    );
  if (!ok) {
    const shapes = (ts: tf.Tensor[]) => ts.map((t) => `[${t.shape}]`).join(', ');
    throw new Error(
      `${fn}: expected matching chunks x_c (B x F_c), W_c (F_c x H) and b (H); got x ${shapes(x)}, W ${shapes(w)}, b [${b.shape}]`,
    );
  }
}
