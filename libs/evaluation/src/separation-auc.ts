/**
 * Area under the ROC curve of a score that should be higher for `higher` than for `lower`
 * items: the probability that a random `higher` item outscores a random `lower` one, ties
 * counting one half (the Mann-Whitney U statistic over |higher| x |lower|). Used for the
 * confidence of known cells (higher) against cells of a type no reference holds (lower).
 *
 * Written out rather than taken from a package: it is one sort and a rank sum, and the ML
 * packages on npm that offer it (ml-roc-curve and kin) are unmaintained.
 *
 * @returns NaN when either group is empty (no pair to compare)
 */
export function separationAuc(higher: ArrayLike<number>, lower: ArrayLike<number>): number {
  const nHigh = higher.length;
  const nLow = lower.length;
  if (nHigh === 0 || nLow === 0) return NaN;
  const all: { score: number; high: boolean }[] = [];
  for (let i = 0; i < nHigh; i++) all.push({ score: higher[i], high: true });
  for (let i = 0; i < nLow; i++) all.push({ score: lower[i], high: false });
  for (const item of all) {
    if (Number.isNaN(item.score)) throw new Error('separationAuc: a score is NaN');
  }
  all.sort((a, b) => a.score - b.score);
  // Sum of the (1-based, mid-rank for ties) ranks of the `higher` items.
  let rankSum = 0;
  for (let i = 0; i < all.length;) {
    let j = i;
    while (j < all.length && all[j].score === all[i].score) j++;
    const midRank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if (all[k].high) rankSum += midRank;
    i = j;
  }
  return (rankSum - (nHigh * (nHigh + 1)) / 2) / (nHigh * nLow);
}
