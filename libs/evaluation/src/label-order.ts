// Labels are ordered for people ("CD4 T" before "CD8 T", "cluster 2" before "cluster 10"), with a
// code-point tie-break so the order is total and the same on every machine.
const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'variant' });

export function compareLabels(a: string, b: string): number {
  return collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);
}

export function sortedLabels(labels: Iterable<string>): string[] {
  return [...new Set(labels)].sort(compareLabels);
}
