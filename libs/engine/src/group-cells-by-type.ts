/**
 * Cell indices of each type, ascending.
 *
 * @param labelCodes per cell, an integer in 0..nTypes-1
 * @returns nTypes arrays; entry c holds the indices of the cells of type c
 */
export function groupCellsByType(
  labelCodes: Int32Array,
  nTypes: number,
  fn = 'groupCellsByType',
): Int32Array[] {
  if (!Number.isInteger(nTypes) || nTypes < 0) {
    throw new Error(`${fn}: nTypes must be a non-negative integer, got ${nTypes}`);
  }
  const counts = new Int32Array(nTypes);
  for (let i = 0; i < labelCodes.length; i++) {
    const c = labelCodes[i];
    if (c < 0 || c >= nTypes) {
      throw new Error(`${fn}: label code ${c} of cell ${i} is outside 0..${nTypes - 1}`);
    }
    counts[c]++;
  }
  const groups = Array.from(counts, (count) => new Int32Array(count));
  counts.fill(0);
  for (let i = 0; i < labelCodes.length; i++) {
    const c = labelCodes[i];
    groups[c][counts[c]++] = i;
  }
  return groups;
}
