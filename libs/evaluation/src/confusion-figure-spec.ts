import type { TopLevelSpec } from 'vega-lite';
import type { EvaluationReport } from './evaluation-report';

export interface ConfusionFigureOptions {
  /** Replaces the default title (which gives accuracy and macro-F1). */
  title?: string;
}

// Fonts that exist on most machines first; resvg picks the first one it finds for the PNG.
const FONT = 'DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif';

/**
 * A vega-lite heatmap of the confusion matrix. Colour is the fraction of each TRUE type (row-
 * normalised), so small and large types are equally readable; the raw count is written in
 * each non-empty cell. Cell size shrinks with the number of types to stay legible up to ~30.
 */
export function confusionFigureSpec(
  report: EvaluationReport,
  opts: ConfusionFigureOptions = {},
): TopLevelSpec {
  const { rows, cols, counts, novelRows } = report.confusion;
  const rowNames = rows.map((l, i) => (novelRows.includes(i) ? `${l} (novel)` : l));
  const values = rowNames.flatMap((truth, i) => {
    const total = counts[i].reduce((s, c) => s + c, 0);
    return cols.map((predicted, j) => ({
      truth,
      predicted,
      count: counts[i][j],
      fraction: total ? counts[i][j] / total : 0,
    }));
  });
  const n = Math.max(rows.length, cols.length);
  const fontSize = n > 20 ? 9 : 11;
  const digits = String(Math.max(0, ...counts.flat())).length;
  const step = Math.max(
    Math.round(Math.min(40, Math.max(20, 600 / n))),
    Math.ceil(digits * fontSize * 0.65 + 6),
  );
  const scope = report.referenceTypes ? ' (reference types)' : '';

  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text:
        opts.title ??
        `Confusion matrix: accuracy ${report.accuracy.toFixed(3)}, macro-F1 ${report.macroF1.toFixed(3)}${scope}`,
      subtitle: `${report.nCells} cells; colour = fraction of each true cell type, number = cells`,
      anchor: 'start',
    },
    data: { values },
    width: { step },
    height: { step },
    encoding: {
      x: {
        field: 'predicted',
        type: 'nominal',
        sort: cols,
        title: 'predicted cell type',
        axis: { labelAngle: -45, labelLimit: 200, orient: 'bottom' },
      },
      y: {
        field: 'truth',
        type: 'nominal',
        sort: rowNames,
        title: 'true cell type',
        axis: { labelLimit: 200 },
      },
    },
    layer: [
      {
        mark: { type: 'rect', stroke: '#e5e5e5', strokeWidth: 0.5 },
        encoding: {
          color: {
            field: 'fraction',
            type: 'quantitative',
            // From white, so an empty cell reads as empty (the 'blues' scheme starts light blue);
            // the middle stop keeps small fractions visibly blue.
            scale: { domain: [0, 0.25, 1], range: ['#ffffff', '#9ecae1', '#08306b'], interpolate: 'rgb' },
            legend: { title: 'fraction of true type', titleLimit: 300, format: '.0%' },
          },
        },
      },
      {
        transform: [{ filter: 'datum.count > 0' }],
        mark: { type: 'text', fontSize },
        encoding: {
          text: { field: 'count', type: 'quantitative' },
          color: { condition: { test: 'datum.fraction > 0.5', value: 'white' }, value: 'black' },
        },
      },
    ],
    config: {
      font: FONT,
      view: { stroke: null },
      axis: { grid: false, labelFontSize: 11, titleFontSize: 12 },
    },
  };
}
