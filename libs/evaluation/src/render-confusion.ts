import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile } from 'vega-lite';
import type { EvaluationReport } from './evaluation-report';
import { confusionFigureSpec, type ConfusionFigureOptions } from './confusion-figure-spec';

/** The confusion-matrix heatmap as SVG text, rendered headless (no browser, no canvas). */
export async function renderConfusionSvg(
  report: EvaluationReport,
  opts?: ConfusionFigureOptions,
): Promise<string> {
  const { spec } = compile(confusionFigureSpec(report, opts));
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** The same figure as PNG, at twice the SVG's size so its small labels stay sharp. */
export async function renderConfusionPng(
  report: EvaluationReport,
  opts?: ConfusionFigureOptions,
): Promise<Buffer> {
  const svg = await renderConfusionSvg(report, opts);
  const resvg = new Resvg(svg, {
    font: { loadSystemFonts: true, sansSerifFamily: 'DejaVu Sans' },
    fitTo: { mode: 'zoom', value: 2 },
    background: 'white',
  });
  return resvg.render().asPng();
}
