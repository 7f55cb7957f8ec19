import type { RandomGenerator } from './rng';

/** 2^32: `rng.next() >>> 0` is uniform on [0, 2^32). */
const TWO_POW_32 = 4294967296;

/**
 * Gene dropout, an augmentation of one training batch: every non-zero value of
 * `values[from..to)` is set to 0 with probability `rate`, IN PLACE. Zeros stay zeros and draw
 * nothing, so the stream depends only on the non-zero entries, in order.
 *
 * Why: a gene a reference detects may go undetected in another study's cell of the same type
 * (capture efficiency, depth, chemistry). Training on cells that randomly lose detected genes
 * keeps the embedding from resting on a few genes, which is what a small reference invites
 * (docs/algorithm.md, Presets). Nothing is rescaled: an undetected gene is a zero in the data,
 * not a scaled-down value. Written by hand because it is one comparison per entry on a buffer the
 * trainer already holds; no library does this for a flat Float32Array.
 *
 * @param rng the augmentation's own generator (not the batch sampler's), advanced in place
 * @param rate probability of dropping each detected value, in [0, 1)
 * @returns how many values were set to 0
 */
export function dropInputs(
  rng: RandomGenerator,
  values: Float32Array,
  from: number,
  to: number,
  rate: number,
): number {
  if (!(rate >= 0 && rate < 1)) throw new Error(`dropInputs: rate must be in [0, 1), got ${rate}`);
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to < from || to > values.length) {
    throw new Error(
      `dropInputs: need whole numbers 0 <= from <= to <= ${values.length}, got ${from} and ${to}`,
    );
  }
  if (rate === 0) return 0;
  const cut = rate * TWO_POW_32;
  let dropped = 0;
  for (let i = from; i < to; i++) {
    if (values[i] !== 0 && rng.next() >>> 0 < cut) {
      values[i] = 0;
      dropped++;
    }
  }
  return dropped;
}
