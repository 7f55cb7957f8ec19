import { Command } from 'commander';
import { basename, dirname, join } from 'node:path';
import { datasetName, readRawCounts, writeH5ad } from '@fl/formats';
import {
  DEFAULT_MAX_MITO_FRACTION,
  DEFAULT_MIN_COUNTS,
  DEFAULT_MIN_GENES,
  DEFAULT_TARGET_SUM,
  preprocess,
} from '@fl/preprocess';
import { fraction, nonNegativeInt, positiveNumber } from '../options';
import { checkOutputFile } from '../check-outputs';
import { emitJson, JSON_FLAGS, jsonFile, jsonHelp, jsonOnStdout, type JsonOption } from '../json-output';
import { Reporter } from '../reporter';

interface PreprocessCommandOptions {
  file: string;
  out?: string;
  minGenes: number;
  minCounts: number;
  maxMito: number;
  targetSum: number;
  sumDuplicateGenes: boolean;
  json?: JsonOption;
  quiet: boolean;
}

/** `<name>_treated.h5ad` beside the input (a 10x directory: beside the directory). */
function defaultOutput(input: string): string {
  const name = datasetName(input) || basename(input);
  return join(dirname(input), `${name}_treated.h5ad`);
}

async function preprocessAction(opts: PreprocessCommandOptions): Promise<void> {
  const reporter = new Reporter(opts.quiet || jsonOnStdout(opts.json));
  if (opts.out !== undefined) await checkOutputFile('--out', opts.out);
  const json = jsonFile(opts.json);
  if (json !== undefined) await checkOutputFile('--json', json);
  const bar = reporter.progress(`reading ${basename(opts.file)}`, 100, '%');
  const counts = await readRawCounts(opts.file, {
    onProgress: (done, total) => bar.update(Math.round((100 * done) / Math.max(total, 1))),
  }).finally(() => bar.stop());
  reporter.info(`  ${counts.cellIds.length} cells x ${counts.genes.length} genes of raw counts`);
  const { matrix, report } = preprocess(counts, {
    minGenes: opts.minGenes,
    minCounts: opts.minCounts,
    maxMitoFraction: opts.maxMito,
    targetSum: opts.targetSum,
    duplicateGenes: opts.sumDuplicateGenes ? 'sum' : 'error',
  });
  const out = opts.out ?? defaultOutput(opts.file);
  await writeH5ad(out, {
    cellIds: matrix.cellIds,
    genes: matrix.genes,
    csr: { indptr: matrix.indptr, indices: matrix.indices, data: matrix.data },
    uns: { scprivacy_preprocess: JSON.stringify(report) },
  });
  for (const w of report.warnings) reporter.warn(w);
  reporter.info(
    [
      `Cells in: ${report.cellsIn}`,
      `  removed, ${report.thresholds.minGenes} detected genes or fewer: ${report.removedByGenes}`,
      `  removed, ${report.thresholds.minCounts} counts or fewer: ${report.removedByCounts}`,
      `  removed, ${report.thresholds.maxMitoFraction * 100}% or more mitochondrial counts: ${report.removedByMito}` +
        ` (${report.mitoGenes} MT- genes found)`,
      `  removed in all (a cell can fail several filters): ${report.removed}`,
      `Cells kept: ${report.cellsOut}, normalised to ${report.targetSum} counts, ln(1+x)`,
      `Wrote ${out}`,
    ].join('\n'),
  );
  await emitJson(opts.json, JSON.stringify({ output: out, ...report }, null, 2));
}

export function preprocessCommand(): Command {
  return new Command('preprocess')
    .description(
      'Quality-filter and normalise raw counts (genes x cells CSV/TSV, .h5ad or a 10x directory) into a ' +
        'cells x genes <name>_treated.h5ad ready for `run` or `annotate`.',
    )
    .requiredOption('-f, --file <path>', 'raw counts: CSV/TSV(.gz) genes x cells, .h5ad, or a 10x directory')
    .option('--out <file>', 'output .h5ad (default: <name>_treated.h5ad beside the input)')
    .option(
      '--min-genes <n>',
      'keep cells with MORE than n detected genes',
      nonNegativeInt('--min-genes'),
      DEFAULT_MIN_GENES,
    )
    .option(
      '--min-counts <n>',
      'keep cells with MORE than n total counts',
      nonNegativeInt('--min-counts'),
      DEFAULT_MIN_COUNTS,
    )
    .option(
      '--max-mito <fraction>',
      'keep cells with LESS than this fraction of MT- counts',
      fraction('--max-mito'),
      DEFAULT_MAX_MITO_FRACTION,
    )
    .option(
      '--target-sum <n>',
      'counts per cell after normalisation',
      positiveNumber('--target-sum'),
      DEFAULT_TARGET_SUM,
    )
    .option(
      '--sum-duplicate-genes',
      'sum columns with the same gene name instead of refusing the file',
      false,
    )
    .option(JSON_FLAGS, jsonHelp('the filter report'))
    .option('-q, --quiet', 'no progress output', false)
    .action(preprocessAction);
}
