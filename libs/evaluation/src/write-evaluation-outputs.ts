import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, extname } from 'node:path';
import { InputError } from '@fl/formats';
import type { EvaluationReport } from './evaluation-report';
import { renderConfusionPng, renderConfusionSvg } from './render-confusion';
import type { ConfusionFigureOptions } from './confusion-figure-spec';

export interface EvaluationOutputs {
  /** Report as pretty-printed JSON. */
  json?: string;
  /** Confusion-matrix figure; the format follows the extension: `.svg` or `.png`. */
  figure?: string;
  figureOptions?: ConfusionFigureOptions;
}

/** Writes the requested outputs, creating parent folders. A bad figure extension fails before anything is written. */
export async function writeEvaluationOutputs(
  report: EvaluationReport,
  out: EvaluationOutputs,
): Promise<void> {
  const format = out.figure === undefined ? undefined : figureFormat(out.figure);
  if (out.json !== undefined) await writeCreatingDir(out.json, reportJson(report));
  if (out.figure !== undefined) {
    const figure =
      format === 'png'
        ? await renderConfusionPng(report, out.figureOptions)
        : await renderConfusionSvg(report, out.figureOptions);
    await writeCreatingDir(out.figure, figure);
  }
}

/** Pretty JSON, but with each array of numbers (a confusion-matrix row) kept on one line. */
export function reportJson(report: EvaluationReport): string {
  const pretty = JSON.stringify(report, null, 2);
  return (
    pretty.replace(
      /\[\s*(-?[\d.eE+-]+(?:,\s*-?[\d.eE+-]+)*)\s*\]/g,
      (_, inner: string) => `[${inner.replace(/\s+/g, ' ')}]`,
    ) + '\n'
  );
}

function figureFormat(path: string): 'svg' | 'png' {
  const ext = extname(path).toLowerCase();
  if (ext === '.svg' || ext === '.png') return ext === '.svg' ? 'svg' : 'png';
  throw new InputError(
    `${path}: the figure's extension must be .svg or .png, got "${ext || '(none)'}"`,
    path,
  );
}

async function writeCreatingDir(path: string, content: string | Buffer): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content);
}
