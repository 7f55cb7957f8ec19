import { uniformInt } from 'pure-rand/distribution/uniformInt';
import type { RandomGenerator } from './rng';

/**
 * Draws one N-pair batch: for every group in order, two distinct cells uniformly at random
 * without replacement (every ordered pair equally likely), the anchor then the positive.
 *
 * @param rng seeded generator (advanced in place)
 * @param groups cell indices of each training type (each with at least 2 cells)
 * @param anchors output (n = groups.length): anchor cell of each group
 * @param positives output (n): positive cell of each group
 */
export function sampleNPairs(
  rng: RandomGenerator,
  groups: readonly Int32Array[],
  anchors: Int32Array,
  positives: Int32Array,
): void {
  const n = groups.length;
  if (anchors.length !== n || positives.length !== n) {
    throw new Error(`sampleNPairs: anchors and positives must have length ${n} (one per group)`);
  }
  for (let c = 0; c < n; c++) {
    const cells = groups[c];
    const size = cells.length;
    if (size < 2) throw new Error(`sampleNPairs: group ${c} has ${size} cell(s); needs at least 2`);
    const a = uniformInt(rng, 0, size - 1);
    let p = uniformInt(rng, 0, size - 2);
    if (p >= a) p++;
    anchors[c] = cells[a];
    positives[c] = cells[p];
  }
}
