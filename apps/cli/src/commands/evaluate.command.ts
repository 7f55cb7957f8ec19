import { Command } from 'commander';
import { dirname, join } from 'node:path';
import {
  evaluate,
  formatReportTable,
  readLabelTable,
  reportJson,
  writeEvaluationOutputs,
} from '@fl/evaluation';
import { loadBundle } from '@fl/federation';
import { checkOutputFile } from '../check-outputs';
import { emitJson, jsonFile, JSON_FLAGS, jsonHelp, jsonOnStdout, type JsonOption } from '../json-output';
import { Reporter } from '../reporter';

interface EvaluateOptions {
  pred: string;
  truth: string;
  model?: string;
  report?: string;
  figure?: string;
  json?: JsonOption;
  quiet: boolean;
}

async function evaluateAction(opts: EvaluateOptions): Promise<void> {
  const toStdout = jsonOnStdout(opts.json);
  const reporter = new Reporter(opts.quiet || toStdout);
  for (const [option, file] of [
    ['--report', opts.report],
    ['--figure', opts.figure],
    ['--json', jsonFile(opts.json)],
  ] as const) {
    if (file !== undefined) await checkOutputFile(option, file);
  }
  const predictions = await readLabelTable(opts.pred, 'predictions');
  const truth = await readLabelTable(opts.truth, 'truth');
  // With the model, cells of types no reference has are scored apart (they can only be right as unassigned).
  const referenceTypes = opts.model
    ? [...new Set((await loadBundle(opts.model)).manifest.institutions.flatMap((i) => i.types))]
    : undefined;
  const report = evaluate(predictions, truth, { referenceTypes });
  const outDir = dirname(opts.pred);
  // `--json <file>` names the JSON report, as --report does.
  const reportFile = opts.report ?? jsonFile(opts.json) ?? join(outDir, 'evaluation.json');
  const figureFile = opts.figure ?? join(outDir, 'confusion.svg');
  await writeEvaluationOutputs(report, { json: reportFile, figure: figureFile });
  const extra = jsonFile(opts.json);
  if (extra !== undefined && extra !== reportFile) await emitJson(extra, reportJson(report));
  if (toStdout) process.stdout.write(reportJson(report));
  else if (!opts.quiet) process.stdout.write(formatReportTable(report) + '\n');
  reporter.info(`Wrote ${reportFile} and ${figureFile}`);
}

export function evaluateCommand(): Command {
  return new Command('evaluate')
    .description(
      'Score predictions against true labels: accuracy, macro-F1, per-type metrics, confusion matrix.',
    )
    .requiredOption('--pred <file>', 'predictions, cell_id<TAB>label (e.g. result.txt)')
    .requiredOption('--truth <file>', 'true labels, cell_id<TAB>label')
    .option('--model <dir>', 'the model bundle: cells of types no reference has are then scored apart')
    .option('--report <file>', 'JSON report (default: the --json file, else evaluation.json beside --pred)')
    .option('--figure <file>', 'confusion-matrix figure, .svg or .png (default: confusion.svg beside --pred)')
    .option(JSON_FLAGS, jsonHelp('the report') + ' (on stdout: instead of the table)')
    .option('-q, --quiet', 'print nothing', false)
    .action(evaluateAction);
}
