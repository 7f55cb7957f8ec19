import { join, dirname } from 'node:path';
import {
  annotateMatrix,
  formatPredictionsCsv,
  formatResultTxt,
  UNASSIGNED,
  writeFileAtomic,
  type Annotation,
  type FederatedModel,
  type NovelGroup,
  type RejectThreshold,
} from '@fl/federation';
import type { LoadedDataset } from './load-datasets';
import type { Reporter } from './reporter';

export interface QuerySummary {
  file: string;
  cells: number;
  coveredGenes: number;
  modelGenes: number;
  labelCounts: Record<string, number>;
  /** `--reject-threshold auto`: the correlation chosen per predicted type. */
  autoThresholds?: Record<string, number>;
  /** `--reject-threshold auto` found a separate low-confidence group (step 1). */
  autoNovelGroup?: NovelGroup;
}

export interface AnnotationSummary {
  resultFile: string;
  predictionsFile: string;
  cells: number;
  unassigned: number;
  seconds: number;
  queries: QuerySummary[];
}

/**
 * Annotates every query with the model, then writes result.txt (the published format) and
 * predictions.csv beside it. Nothing is written until every query is annotated.
 */
export async function annotateQueries(
  model: FederatedModel,
  queries: readonly LoadedDataset[],
  opts: { out: string; rejectThreshold?: RejectThreshold; threads: number; backend?: string },
  reporter: Reporter,
): Promise<AnnotationSummary> {
  const started = performance.now();
  const annotations: Annotation[] = [];
  const queriesSummary: QuerySummary[] = [];
  for (const q of queries) {
    const a = await annotateMatrix(model, q.matrix, opts);
    const coverage = a.coveredGenes / a.modelGenes;
    reporter.info(
      `  ${q.name}: covers ${a.coveredGenes} of ${a.modelGenes} model genes (${(coverage * 100).toFixed(1)}%)`,
    );
    if (coverage < 0.5) {
      reporter.warn(
        `${q.path} covers only ${(coverage * 100).toFixed(1)}% of the model's genes; predictions may be unreliable`,
      );
    }
    if (a.autoNovelGroup) {
      const g = a.autoNovelGroup;
      reporter.info(
        `  automatic rejection: ${g.cells} cells form a separate group of low confidence (mean correlation ` +
          `${g.meanCorrelation[0].toFixed(2)} against ${g.meanCorrelation[1].toFixed(2)}), likely cell types no ` +
          `reference holds: unassigned below, per predicted type, ${formatThresholds(a.autoThresholds ?? {})}`,
      );
    } else if (a.autoThresholds) {
      const chosen = Object.entries(a.autoThresholds);
      reporter.info(
        chosen.length > 0
          ? `  automatic rejection thresholds: ${formatThresholds(a.autoThresholds)}`
          : '  automatic rejection: too few cells (under 10) or no spread in their confidences to judge outliers; none rejected',
      );
    }
    const labelCounts: Record<string, number> = {};
    for (const label of a.labels) labelCounts[label] = (labelCounts[label] ?? 0) + 1;
    queriesSummary.push({
      file: q.path,
      cells: a.cellIds.length,
      coveredGenes: a.coveredGenes,
      modelGenes: a.modelGenes,
      labelCounts,
      ...(a.autoThresholds && { autoThresholds: a.autoThresholds }),
      ...(a.autoNovelGroup && { autoNovelGroup: a.autoNovelGroup }),
    });
    annotations.push(a);
  }
  const seconds = (performance.now() - started) / 1000;
  const predictionsFile = join(dirname(opts.out), 'predictions.csv');
  await writeFileAtomic(opts.out, formatResultTxt(annotations));
  await writeFileAtomic(predictionsFile, formatPredictionsCsv(annotations));
  const cells = annotations.reduce((s, a) => s + a.cellIds.length, 0);
  const unassigned = annotations.reduce((s, a) => s + a.labels.filter((l) => l === UNASSIGNED).length, 0);
  return { resultFile: opts.out, predictionsFile, cells, unassigned, seconds, queries: queriesSummary };
}

export function printAnnotationSummary(summary: AnnotationSummary, reporter: Reporter): void {
  const total: Record<string, number> = {};
  for (const q of summary.queries)
    for (const [l, n] of Object.entries(q.labelCounts)) total[l] = (total[l] ?? 0) + n;
  reporter.info(`Annotated ${summary.cells} cells in ${summary.seconds.toFixed(2)} s:`);
  for (const [label, n] of Object.entries(total).sort((a, b) => b[1] - a[1])) {
    reporter.info(
      `  ${label.padEnd(30)} ${String(n).padStart(7)}  (${((n / summary.cells) * 100).toFixed(1)}%)`,
    );
  }
  reporter.info(`Wrote ${summary.resultFile} and ${summary.predictionsFile}`);
}

const formatThresholds = (thresholds: Record<string, number>) =>
  Object.entries(thresholds)
    .map(([type, r]) => `${type} ${r.toFixed(3)}`)
    .join(', ');
