import { Command, Option } from 'commander';
import { InputError } from '@fl/formats';
import {
  buildGeneUnion,
  chooseSecureAggregation,
  normaliseGeneName,
  PUBLISHED_DEFAULTS,
  saveBundle,
  trainFederatedModel,
  type RejectThreshold,
  PRESET_NAMES,
  TRAINING_PRESETS,
  type TrainingPreset,
  type PresetName,
} from '@fl/federation';
import { annotateQueries, printAnnotationSummary } from '../annotate-queries';
import { checkBackendOption } from '../check-backend';
import { checkFederation } from '../check-federation';
import { checkOutputFile, checkModelDir } from '../check-outputs';
import { checkPathsExist } from '../check-paths';
import { emitJson, JSON_FLAGS, jsonHelp, jsonOnStdout, type JsonOption } from '../json-output';
import { loadDatasets, type LoadedDataset } from '../load-datasets';
import {
  backendName,
  correlationThreshold,
  defaultThreads,
  nonNegativeInt,
  positiveInt,
  positiveNumber,
  REJECT_THRESHOLD_HELP,
  intInRange,
  variableGenesOption,
  detectedValuesPerGeneOption,
  genesPerCellOption,
  inputDropoutOption,
  detectionFractionOption,
} from '../options';
import { Reporter } from '../reporter';
import { TOOL_VERSION } from '../version';

interface RunOptions {
  train: string;
  test: string[];
  out: string;
  modelDir: string;
  preset: PresetName;
  /** Absent: the preset's. */
  rounds?: number;
  localSteps?: number;
  lr?: number;
  ensembleSize?: number;
  variableGenes?: number;
  variableGenesPerCell?: number;
  detectedValuesPerGene?: number;
  inputDropout?: number;
  inputDropoutMinDetection?: number;
  seed: number;
  rejectThreshold?: RejectThreshold;
  weighting: 'uniform' | 'numExamples';
  hiddenSize: number;
  embeddingSize: number;
  allowSingletonTypes: boolean;
  secureAggregation: 'on' | 'off';
  secaggThreshold?: number;
  secaggBits: '8' | '16' | '32';
  threads: number;
  backend?: string;
  json?: JsonOption;
  quiet: boolean;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const plural = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;

/** Fails before training when a query shares no gene with the references. */
function checkQueriesShareGenes(genes: string[], queries: readonly LoadedDataset[]): void {
  const model = new Set(genes);
  for (const q of queries) {
    if (!q.matrix.genes.some((g) => model.has(normaliseGeneName(g)))) {
      throw new InputError(
        `${q.path}: none of its ${q.matrix.genes.length} genes occurs in the reference files ` +
          '(check gene naming: symbols vs Ensembl ids, species)',
        q.path,
      );
    }
  }
}

/**
 * The gene caps bound the variable genes; without them (--variable-genes 0, the preset's or
 * given) they do nothing, and are not recorded. Said, so that nobody believes they took effect.
 */
function warnIgnoredGeneCaps(opts: RunOptions, preset: TrainingPreset, reporter: Reporter): void {
  if ((opts.variableGenes ?? preset.variableGenes) > 0) return;
  const given = [
    ...(opts.variableGenesPerCell ? ['--variable-genes-per-cell'] : []),
    ...(opts.detectedValuesPerGene ? ['--detected-values-per-gene'] : []),
  ];
  if (given.length === 0) return;
  reporter.warn(
    `${given.join(' and ')} cap${given.length > 1 ? '' : 's'} the variable genes, but this run trains on every gene (preset ${opts.preset} without --variable-genes): ignored`,
  );
}

async function run(opts: RunOptions): Promise<void> {
  const reporter = new Reporter(opts.quiet || jsonOnStdout(opts.json));
  await checkPathsExist('--train', [opts.train]);
  await checkPathsExist('--test', opts.test);
  await checkOutputFile('--out', opts.out);
  if (typeof opts.json === 'string') await checkOutputFile('--json', opts.json);
  await checkModelDir(opts.modelDir);
  await checkBackendOption(opts.backend);
  reporter.info(`Reading references (one file = one institution) from ${opts.train}`);
  const references = await loadDatasets([opts.train], 'reference', reporter);
  const secure = { on: opts.secureAggregation === 'on', threshold: opts.secaggThreshold };
  checkFederation(references, secure);
  // trainFederatedModel makes the same choice; said here, before the rounds start.
  const skipped = chooseSecureAggregation(secure.on, references.length).skipped;
  if (skipped) reporter.info(skipped.message);
  reporter.info(`Reading queries from ${opts.test.join(', ')}`);
  const queries = await loadDatasets(opts.test, 'query', reporter);
  checkQueriesShareGenes(buildGeneUnion(references.map((r) => r.matrix.genes)), queries);

  const preset = TRAINING_PRESETS[opts.preset];
  warnIgnoredGeneCaps(opts, preset, reporter);
  const rounds = opts.rounds ?? preset.rounds;
  const ensembleSize = opts.ensembleSize ?? preset.ensembleSize;
  if (ensembleSize > 1)
    reporter.info(`Training an ensemble of ${ensembleSize} models (preset ${opts.preset})`);
  const bar = reporter.progress('federated training', rounds * ensembleSize, 'rounds');
  const trained = await trainFederatedModel(references, {
    preset: opts.preset,
    rounds,
    localSteps: opts.localSteps ?? preset.localSteps,
    learningRate: opts.lr ?? preset.learningRate,
    ensembleSize,
    variableGenes: opts.variableGenes ?? preset.variableGenes,
    variableGenesPerCell: opts.variableGenesPerCell ?? preset.variableGenesPerCell,
    detectedValuesPerGene: opts.detectedValuesPerGene ?? preset.detectedValuesPerGene,
    inputDropout: opts.inputDropout ?? preset.inputDropout,
    inputDropoutMinDetection: opts.inputDropoutMinDetection ?? preset.inputDropoutMinDetection,
    seed: opts.seed,
    weighting: opts.weighting,
    hiddenSize: opts.hiddenSize,
    embeddingSize: opts.embeddingSize,
    allowSingletonTypes: opts.allowSingletonTypes,
    secureAggregation: opts.secureAggregation === 'on' && {
      threshold: opts.secaggThreshold,
      bits: Number(opts.secaggBits) as 8 | 16 | 32,
    },
    threads: opts.threads,
    backend: opts.backend,
    onRound: (r, member) =>
      bar.update(
        member * rounds + r.round,
        ensembleSize > 1
          ? `model ${member + 1}/${ensembleSize}, loss ${r.meanLoss.toFixed(4)}`
          : `loss ${r.meanLoss.toFixed(4)}`,
      ),
  }).finally(() => bar.stop());
  if (trained.geneSelection) {
    const g = trained.geneSelection;
    reporter.info(
      `Before training: chose the ${g.chosen} most variable of the institutions' ${g.from} genes in ${g.seconds.toFixed(1)} s` +
        (g.secure ? ' (their scores summed through secure aggregation)' : ''),
    );
  }
  for (const at of trained.inputDropoutAt ?? []) {
    reporter.info(
      `Gene dropout at ${at.institution}: ${at.rate > 0 ? `${at.rate}` : 'none'} (a cell detects ${(100 * at.detection).toFixed(0)}% of its genes)`,
    );
  }
  if (trained.secureAggregation) {
    const outOfRange = trained.secureAggregation.reports.reduce((n, r) => n + r.outOfRange, 0);
    reporter.info(
      `Secure aggregation: the server saw only masked updates (${trained.secureAggregation.bits}-bit, ` +
        `threshold ${trained.secureAggregation.threshold} of ${trained.institutions.length} institutions)` +
        (outOfRange > 0
          ? `; ${outOfRange} update values beyond ±${trained.secureAggregation.clip.toPrecision(3)} were clipped`
          : ''),
    );
  } else if (!trained.options.secureAggregationSkipped) {
    reporter.warn(
      "secure aggregation is off: the aggregator saw every institution's parameters in the clear",
    );
  }
  reporter.info(
    `Trained ${plural(trained.institutions.length, 'institution')} x ${trained.model.genes.length} genes for ` +
      `${rounds} rounds${ensembleSize > 1 ? ` (x ${ensembleSize} models)` : ''} in ${trained.trainingSeconds.toFixed(1)} s (tensor backend: ${trained.backend})`,
  );

  const manifest = await saveBundle(opts.modelDir, trained.model, {
    options: trained.options,
    backend: trained.backend,
    institutions: trained.institutions,
    toolVersion: TOOL_VERSION,
  });
  reporter.info(`Saved the model bundle to ${opts.modelDir}`);

  const summary = await annotateQueries(trained.model, queries, opts, reporter);
  printAnnotationSummary(summary, reporter);
  if (opts.json) {
    const last = trained.history[trained.history.length - 1];
    await emitJson(
      opts.json,
      JSON.stringify(
        {
          backend: trained.backend,
          genes: manifest.geneCount,
          institutions: trained.institutions,
          options: trained.options,
          trainingSeconds: trained.trainingSeconds,
          medianRoundSeconds: median(trained.history.map((r) => r.seconds)),
          secureAggregation: trained.secureAggregation && {
            threshold: trained.secureAggregation.threshold,
            bits: trained.secureAggregation.bits,
            clip: trained.secureAggregation.clip,
            clippedValues: trained.secureAggregation.reports.reduce((n, r) => n + r.outOfRange, 0),
            bytesReceivedPerInstitutionPerRound:
              trained.secureAggregation.reports[0]?.bytesReceivedPerInstitution,
            medianMaskingMs: median(trained.secureAggregation.reports.map((r) => r.maskingMsMean)),
            medianServerUnmaskMs: median(trained.secureAggregation.reports.map((r) => r.serverUnmaskMs)),
            medianServerCollectMs: median(trained.secureAggregation.reports.map((r) => r.serverCollectMs)),
            medianClientUnmaskMs: median(trained.secureAggregation.reports.map((r) => r.clientUnmaskMs)),
            medianDecodeMs: median(trained.secureAggregation.reports.map((r) => r.decodeMs)),
            medianPlanMs: median(trained.secureAggregation.reports.map((r) => r.planMs)),
            bytesSentPerInstitutionPerRound: trained.secureAggregation.reports[0]?.bytesSentPerInstitution,
          },
          secureAggregationSkipped: trained.options.secureAggregationSkipped,
          medianAggregateSeconds: median(trained.history.map((r) => r.aggregateSeconds)),
          medianInstitutionSeconds: trained.institutions.map((_, i) =>
            median(trained.history.map((r) => r.institutionSeconds[i])),
          ),
          finalLoss: last?.meanLoss,
          modelDir: opts.modelDir,
          annotation: summary,
        },
        null,
        2,
      ),
    );
  }
}

export function runCommand(): Command {
  return new Command('run')
    .description(
      'The published workflow: train a federated model on a folder of references (one file = one institution), ' +
        'save it, and annotate every query file.',
    )
    .option(
      '--train <dir>',
      'folder of labelled reference files (CSV/TSV/h5ad, with a cell_label column)',
      'train_set',
    )
    .option('--test <path...>', 'query file(s) or folder(s) to annotate', ['test_set'])
    .option('--out <file>', 'where to write result.txt (predictions.csv goes beside it)', 'result.txt')
    .option('--model-dir <dir>', 'where to save the model bundle', 'pre_trained/new_model')
    .addOption(
      new Option(
        '--preset <name>',
        `training recipe: ${PRESET_NAMES.map((n) => `"${n}", ${TRAINING_PRESETS[n].summary}`).join('; ')}`,
      )
        .choices(PRESET_NAMES)
        .default('published'),
    )
    .option(
      '--rounds <n>',
      "federated rounds (per model; default: the preset's, 300 published)",
      positiveInt('--rounds'),
    )
    .option(
      '--local-steps <n>',
      "local training steps per round (default: the preset's, 1)",
      positiveInt('--local-steps'),
    )
    .option('--lr <rate>', "Adam learning rate (default: the preset's, 0.0005)", positiveNumber('--lr'))
    .option(
      '--ensemble-size <n>',
      "models trained with different seeds and averaged (default: the preset's; 1 published)",
      intInRange('--ensemble-size', 1, 16),
    )
    .option(
      '--variable-genes <n>',
      "train on n genes of largest dispersion per institution (n x institutions in all; scores summed over institutions; 0: every gene; default: the preset's, 0 published)",
      variableGenesOption,
    )
    .option(
      '--variable-genes-per-cell <n>',
      "with --variable-genes: at most n genes per reference cell at each institution, so a small reference trains on fewer genes (0: no cap; default: the preset's, 0 published)",
      genesPerCellOption,
    )
    .option(
      '--detected-values-per-gene <n>',
      "with --variable-genes: at most one gene per n values detected in an institution's reference cells, so a sparse (droplet) reference trains on fewer genes than a dense one of as many cells (0: no cap; default: the preset's, 0 published)",
      detectedValuesPerGeneOption,
    )
    .option(
      '--input-dropout <p>',
      "gene dropout while training: each detected value of a training cell is zeroed with probability p in a step (0: none; default: the preset's, 0 published)",
      inputDropoutOption,
    )
    .option(
      '--input-dropout-min-detection <f>',
      "apply the gene dropout only at institutions whose cells detect at least this fraction of their genes (plate-based data; 0: every institution; default: the preset's)",
      detectionFractionOption,
    )
    .option(
      '--seed <n>',
      'random seed (same seed and data give the same model)',
      nonNegativeInt('--seed'),
      PUBLISHED_DEFAULTS.seed,
    )
    .option('--reject-threshold <r>', REJECT_THRESHOLD_HELP, correlationThreshold)
    .addOption(
      new Option('--weighting <how>', 'how the server averages institutions')
        .choices(['uniform', 'numExamples'])
        .default(PUBLISHED_DEFAULTS.weighting),
    )
    .option(
      '--hidden-size <n>',
      'hidden layer width',
      positiveInt('--hidden-size'),
      PUBLISHED_DEFAULTS.hiddenSize,
    )
    .option(
      '--embedding-size <n>',
      'embedding dimension',
      positiveInt('--embedding-size'),
      PUBLISHED_DEFAULTS.embeddingSize,
    )
    .addOption(
      new Option(
        '--secure-aggregation <mode>',
        "mask institutions' parameters so the server sees only their sum (one institution: not needed, " +
          'trains without it)',
      )
        .choices(['on', 'off'])
        .default('on'),
    )
    .addOption(
      new Option(
        '--secagg-bits <bits>',
        'bits per masked update value: 16 halves the bytes of 32 at a resolution of ~0.07% of the learning rate (3 institutions); 8 is coarser',
      )
        .choices(['8', '16', '32'])
        .default('16'),
    )
    .option(
      '--secagg-threshold <t>',
      'institutions that must remain for a secure round to complete (default: a majority)',
      positiveInt('--secagg-threshold'),
    )
    .option(
      '--allow-singleton-types',
      'train without cell types that have one cell (they still get landmarks)',
      false,
    )
    .option(
      '--threads <n>',
      'worker threads (one institution per thread)',
      positiveInt('--threads'),
      defaultThreads(),
    )
    .option(
      '--backend <name>',
      'tensor backend: tensorflow-gpu, tensorflow, wasm or cpu (default: first that loads)',
      backendName,
    )
    .option(JSON_FLAGS, jsonHelp('a machine-readable summary'))
    .option('-q, --quiet', 'no progress output', false)
    .action(run);
}
