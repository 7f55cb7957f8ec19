/** Lays out rows of cells in columns: 'l' pads on the right, 'r' (numbers) on the left. */
export function textTable(rows: readonly string[][], align: readonly ('l' | 'r')[], indent = '  '): string {
  const widths = align.map((_, j) => Math.max(...rows.map((r) => (r[j] ?? '').length)));
  return rows
    .map(
      (r) =>
        indent +
        align
          .map((a, j) => (a === 'r' ? (r[j] ?? '').padStart(widths[j]) : (r[j] ?? '').padEnd(widths[j])))
          .join('  ')
          .trimEnd(),
    )
    .join('\n');
}
