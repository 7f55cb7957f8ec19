import { Command } from 'commander';
import { loadBundle, type RejectThreshold } from '@fl/federation';
import { annotateQueries, printAnnotationSummary } from '../annotate-queries';
import { checkBackendOption } from '../check-backend';
import { checkOutputFile } from '../check-outputs';
import { checkPathsExist } from '../check-paths';
import { emitJson, JSON_FLAGS, jsonHelp, jsonOnStdout, type JsonOption } from '../json-output';
import { loadDatasets } from '../load-datasets';
import {
  backendName,
  correlationThreshold,
  defaultThreads,
  positiveInt,
  REJECT_THRESHOLD_HELP,
} from '../options';
import { Reporter } from '../reporter';

interface AnnotateOptions {
  model: string;
  test: string[];
  out: string;
  rejectThreshold?: RejectThreshold;
  threads: number;
  backend?: string;
  json?: JsonOption;
  quiet: boolean;
}

async function annotate(opts: AnnotateOptions): Promise<void> {
  const reporter = new Reporter(opts.quiet || jsonOnStdout(opts.json));
  await checkPathsExist('--model', [opts.model]);
  await checkOutputFile('--out', opts.out);
  if (typeof opts.json === 'string') await checkOutputFile('--json', opts.json);
  await checkBackendOption(opts.backend);
  const { model, manifest } = await loadBundle(opts.model);
  await checkPathsExist('--test', opts.test);
  reporter.info(
    `Model ${opts.model}: ${manifest.geneCount} genes, ${manifest.institutions.length} institutions, ` +
      `trained ${manifest.options.rounds} rounds (seed ${manifest.seed}, backend ${manifest.backend})`,
  );
  const queries = await loadDatasets(opts.test, 'query', reporter);
  const summary = await annotateQueries(model, queries, opts, reporter);
  printAnnotationSummary(summary, reporter);
  await emitJson(opts.json, JSON.stringify({ model: opts.model, annotation: summary }, null, 2));
}

export function annotateCommand(): Command {
  return new Command('annotate')
    .description('Annotate query cells with a saved model bundle (no retraining).')
    .requiredOption('--model <dir>', 'model bundle directory written by `scprivacy run`')
    .requiredOption('--test <path...>', 'query file(s) or folder(s)')
    .option('--out <file>', 'where to write result.txt (predictions.csv goes beside it)', 'result.txt')
    .option('--reject-threshold <r>', REJECT_THRESHOLD_HELP, correlationThreshold)
    .option('--threads <n>', 'worker threads for embedding', positiveInt('--threads'), defaultThreads())
    .option('--backend <name>', 'tensor backend: tensorflow-gpu, tensorflow, wasm or cpu', backendName)
    .option(JSON_FLAGS, jsonHelp('a machine-readable summary'))
    .option('-q, --quiet', 'no progress output', false)
    .action(annotate);
}
