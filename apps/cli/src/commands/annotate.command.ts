import { Command } from 'commander';
import { loadBundle } from '@fl/federation';
import { annotateQueries, printAnnotationSummary } from '../annotate-queries';
import { loadDatasets } from '../load-datasets';
import { backendName, correlationThreshold, defaultThreads, positiveInt } from '../options';
import { Reporter } from '../reporter';

interface AnnotateOptions {
  model: string;
  test: string[];
  out: string;
  rejectThreshold?: number;
  threads: number;
  backend?: string;
  json: boolean;
  quiet: boolean;
}

async function annotate(opts: AnnotateOptions): Promise<void> {
  const reporter = new Reporter(opts.quiet || opts.json);
  const { model, manifest } = await loadBundle(opts.model);
  reporter.info(
    `Model ${opts.model}: ${manifest.geneCount} genes, ${manifest.institutions.length} institutions, ` +
      `trained ${manifest.options.rounds} rounds (seed ${manifest.seed}, backend ${manifest.backend})`,
  );
  const queries = await loadDatasets(opts.test, 'query', reporter);
  const summary = await annotateQueries(model, queries, opts, reporter);
  printAnnotationSummary(summary, reporter);
  if (opts.json)
    process.stdout.write(JSON.stringify({ model: opts.model, annotation: summary }, null, 2) + '\n');
}

export function annotateCommand(): Command {
  return new Command('annotate')
    .description('Annotate query cells with a saved model bundle (no retraining).')
    .requiredOption('--model <dir>', 'model bundle directory written by `scprivacy run`')
    .requiredOption('--test <path...>', 'query file(s) or folder(s)')
    .option('--out <file>', 'where to write result.txt (predictions.csv goes beside it)', 'result.txt')
    .option(
      '--reject-threshold <r>',
      'label cells whose best correlation is below r as "unassigned"',
      correlationThreshold,
    )
    .option('--threads <n>', 'worker threads for embedding', positiveInt('--threads'), defaultThreads())
    .option('--backend <name>', 'tensor backend: tensorflow-gpu, tensorflow, wasm or cpu', backendName)
    .option('--json', 'print a machine-readable summary on stdout', false)
    .option('-q, --quiet', 'no progress output', false)
    .action(annotate);
}
