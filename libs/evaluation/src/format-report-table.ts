import type { EvaluationReport } from './evaluation-report';
import { textTable } from './text-table';

/** Beyond this width the confusion matrix is headed by column numbers and a legend. */
const MAX_MATRIX_WIDTH = 120;

const fixed = (x: number) => x.toFixed(4);
const percent = (num: number, den: number) => (den === 0 ? '0.0%' : `${((100 * num) / den).toFixed(1)}%`);

/** The report as plain text for a terminal: overall figures, per-type table, confusion matrix. */
export function formatReportTable(report: EvaluationReport): string {
  const sections = [overall(report), perType(report)];
  if (report.novelTypes.length > 0) sections.push(novelTypes(report));
  sections.push(confusion(report));
  if (report.warnings.length > 0) sections.push(report.warnings.map((w) => `Warning: ${w}`).join('\n'));
  return sections.join('\n\n') + '\n';
}

function overall(r: EvaluationReport): string {
  const scope = r.referenceTypes ? ' (reference types)' : '';
  const rows: string[][] = [];
  if (r.predictionsSource) rows.push(['Predictions', r.predictionsSource]);
  if (r.truthSource) rows.push(['Truth', r.truthSource]);
  rows.push(
    r.referenceTypes
      ? ['Cells', `${r.nCells} (${r.knownCells} of reference types, ${r.novelCells} of novel types)`]
      : ['Cells', `${r.nCells}`],
  );
  rows.push([`Accuracy${scope}`, `${fixed(r.accuracy)} (${r.correct} / ${r.knownCells})`]);
  rows.push([`Macro-F1${scope}`, `${fixed(r.macroF1)} (mean over ${r.perType.length} cell types)`]);
  if (r.referenceTypes) {
    rows.push([
      'Accuracy (all cells)',
      `${fixed(r.allCellsAccuracy)} (a novel-type cell is right only if unassigned)`,
    ]);
    rows.push([
      'Novel-type cells',
      `${r.novelCells}, correctly unassigned ${r.novelCorrectlyUnassigned} (${percent(r.novelCorrectlyUnassigned, r.novelCells)})`,
    ]);
  }
  rows.push([`Unassigned ("${r.unassignedLabel}")`, `${r.unassigned} (${percent(r.unassigned, r.nCells)})`]);
  return textTable(rows, ['l', 'l'], '');
}

function perType(r: EvaluationReport): string {
  const head = ['cell type', 'precision', 'recall', 'F1', 'support'];
  const rows = r.perType.map((m) => [
    m.label,
    fixed(m.precision),
    fixed(m.recall),
    fixed(m.f1),
    `${m.support}`,
  ]);
  return `Per cell type${r.referenceTypes ? ' (reference types)' : ''}\n${textTable([head, ...rows], ['l', 'r', 'r', 'r', 'r'])}`;
}

function novelTypes(r: EvaluationReport): string {
  const head = ['novel cell type', 'cells', 'unassigned'];
  const rows = r.novelTypes.map((t) => [
    t.label,
    `${t.cells}`,
    `${t.unassigned} (${percent(t.unassigned, t.cells)})`,
  ]);
  return `Cell types unknown to the model\n${textTable([head, ...rows], ['l', 'r', 'r'])}`;
}

function confusion(r: EvaluationReport): string {
  const { rows, cols, counts, novelRows } = r.confusion;
  const rowLabels = rows.map((l, i) => (novelRows.includes(i) ? `${l} (novel)` : l));
  const title = 'Confusion matrix (rows: true cell type, columns: predicted cell type)';
  const table = (heads: string[]) =>
    textTable(
      [['', ...heads], ...rowLabels.map((l, i) => [l, ...counts[i].map(String)])],
      ['l', ...cols.map((): 'r' => 'r')],
    );
  const full = table(cols);
  if (Math.max(...full.split('\n').map((line) => line.length)) <= MAX_MATRIX_WIDTH)
    return `${title}\n${full}`;
  const legend = textTable(
    cols.map((c, j) => [`[${j + 1}]`, c]),
    ['r', 'l'],
  );
  return `${title}\n${table(cols.map((_, j) => `[${j + 1}]`))}\ncolumns:\n${legend}`;
}
