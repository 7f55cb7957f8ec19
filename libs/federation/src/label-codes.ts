/** Cell-type names of one institution, sorted, and each cell's index into them. */
export interface LabelCodes {
  types: string[];
  codes: Int32Array;
  counts: number[];
}

export function encodeLabels(labels: readonly string[]): LabelCodes {
  const types = [...new Set(labels)].sort();
  const index = new Map(types.map((t, i) => [t, i] as const));
  const codes = new Int32Array(labels.length);
  const counts = new Array<number>(types.length).fill(0);
  labels.forEach((label, i) => {
    const code = index.get(label)!;
    codes[i] = code;
    counts[code]++;
  });
  return { types, codes, counts };
}
