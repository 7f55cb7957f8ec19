/**
 * `npm run bench:hard`: the hard evaluation cases of issue 11 (bench/hard-cases.ts) with the
 * published defaults over several seeds, against pooled baselines (logistic regression and
 * nearest centroid, no privacy) trained on the same cells. Every federated (case, seed) and each
 * case's baselines run in a child process, as `npm run bench` runs its scenarios. Writes
 * bench-output/hard-cases-<date>.json (every run, after each one) and .md (the tables).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import {
  isDetectionFraction,
  isDetectedValuesPerGene,
  isGenesPerCell,
  isInputDropout,
  MAX_DETECTED_VALUES_PER_GENE,
  MAX_GENES_PER_CELL,
  MAX_INPUT_DROPOUT,
  PRESET_NAMES,
  TRAINING_PRESETS,
  type PresetName,
} from '@fl/federation';
import {
  geneScaling,
  poolReferences,
  predictLinear,
  predictNearestCentroid,
  trainLogisticRegression,
  standardiseRows,
  trainNearestCentroid,
  type LabelledRows,
  type LogisticRegressionOptions,
  type Rows,
} from './baselines';
import { caseFiles, loadCase } from './case-data';
import { runChild } from './child-runner';
import {
  BenchUsageError,
  checkDatasets,
  DATASETS_OPTION_HELP,
  defaultDatasetsDir,
  runBenchMain,
} from './datasets';
import { HARD_CASES, parseSeeds, selectCases, type HardCase } from './hard-cases';
import {
  mergeSaved,
  resultTables,
  type BaselineScore,
  type CaseRecord,
  type FederatedRecord,
  type SavedRun,
} from './hard-report';
import { novelDetection, scoreCase } from './hard-scoring';
import { runPublished } from './published-run';
import { softmaxHeadLabels } from './softmax-head';

const BASELINES = ['lr', 'lr-std', 'centroid'] as const;
type Baseline = (typeof BASELINES)[number];

interface FederatedSpec {
  kind: 'federated';
  dataRoot: string;
  case: string;
  seed: number;
  rounds: number;
  threads: number;
  /** The preset's name, or "<preset>, <n> genes per institution" when --variable-genes overrode it. */
  preset: string;
  ensembleSize: number;
  variableGenes: number;
  variableGenesPerCell: number;
  detectedValuesPerGene: number;
  /** The model's sizes; absent: the published ones. */
  hiddenSize?: number;
  embeddingSize?: number;
  inputDropout: number;
  inputDropoutMinDetection: number;
  /** Regularisation strengths of the softmax-head probe (bench/softmax-head.ts); empty: none. */
  softmaxHead: number[];
}

interface BaselineSpec {
  kind: 'baselines';
  dataRoot: string;
  case: string;
  baselines: Baseline[];
  lr: LogisticRegressionOptions;
}

const caseNamed = (name: string): HardCase => HARD_CASES.find((c) => c.name === name)!;

async function runFederated(spec: FederatedSpec): Promise<FederatedRecord> {
  const c = caseNamed(spec.case);
  const data = await loadCase(spec.dataRoot, c);
  const { trained, annotation } = await runPublished(data.references, data.query, spec);
  const score = scoreCase(
    annotation.cellIds,
    annotation.labels,
    data.truth,
    data.referenceTypes,
    c.heldOutType,
  );
  const record: FederatedRecord = {
    case: c.name,
    seed: spec.seed,
    preset: spec.preset,
    trainingSeconds: trained.trainingSeconds,
    ...score,
  };
  if (spec.softmaxHead.length > 0) {
    const labels = await softmaxHeadLabels(trained.model, data.references, data.query, spec.softmaxHead);
    record.softmaxHead = spec.softmaxHead.map((C, i) => ({
      C,
      accuracy: scoreCase(data.query.cellIds, labels[i], data.truth, data.referenceTypes).accuracy,
    }));
  }
  if (c.heldOutType !== undefined) {
    record.cells = {
      ids: annotation.cellIds,
      labels: annotation.labels,
      confidence: Array.from(annotation.confidence, (x) => Number(x.toFixed(5))),
    };
    record.novel = novelDetection(record.cells, data.truth, data.referenceTypes);
  }
  return record;
}

/** Re-scores every saved leave-one-type-out run from its cells: a new rejection rule, no training. */
async function rescoreNovel(runs: FederatedRecord[], data: string): Promise<void> {
  const withCells = runs.filter((r) => r.cells && caseNamed(r.case)?.heldOutType !== undefined);
  const names = [...new Set(withCells.map((r) => r.case))];
  const dataRoot = checkDatasets(data, [...new Set(names.flatMap((n) => caseFiles(caseNamed(n))))]);
  for (const name of names) {
    const loaded = await loadCase(dataRoot, caseNamed(name));
    for (const r of withCells.filter((x) => x.case === name)) {
      r.novel = novelDetection(r.cells!, loaded.truth, loaded.referenceTypes);
    }
  }
}

async function runBaselines(spec: BaselineSpec): Promise<CaseRecord> {
  const c = caseNamed(spec.case);
  const data = await loadCase(spec.dataRoot, c);
  const pooled = poolReferences(
    data.references.map((r) => r.matrix),
    data.query,
  );
  const score = (labels: string[]) =>
    scoreCase(data.query.cellIds, labels, data.truth, data.referenceTypes, c.heldOutType);
  const record: CaseRecord = {
    case: c.name,
    kind: c.kind,
    institutions: data.references.length,
    referenceCells: pooled.train.nCells,
    types: data.referenceTypes,
    genes: pooled.genes.length,
    queryCells: pooled.query.nCells,
  };
  /** Logistic regression trained on `train` and scored on `query`, timed. */
  const linear = async (train: LabelledRows, query: Rows): Promise<BaselineScore> => {
    const started = performance.now();
    const model = await trainLogisticRegression(train, spec.lr);
    const labels = await predictLinear(model, query);
    return {
      ...score(labels),
      seconds: (performance.now() - started) / 1000,
      steps: model.steps,
      finalLoss: model.finalLoss,
    };
  };
  if (spec.baselines.includes('lr')) record.lr = await linear(pooled.train, pooled.query);
  if (spec.baselines.includes('lr-std')) {
    const scaling = geneScaling(pooled.train, pooled.sharedGenes);
    record.lrStd = await linear(
      { ...standardiseRows(pooled.train, scaling), labels: pooled.train.labels },
      standardiseRows(pooled.query, scaling),
    );
  }
  if (spec.baselines.includes('centroid')) {
    const started = performance.now();
    const labels = predictNearestCentroid(
      trainNearestCentroid(pooled.train, pooled.sharedGenes),
      pooled.query,
    );
    record.centroid = { ...score(labels), seconds: (performance.now() - started) / 1000 };
  }
  return record;
}

function parseBaselines(text: string): Baseline[] {
  if (text === 'none') return [];
  const names = text.split(',').map((s) => s.trim());
  const unknown = names.find((n) => !(BASELINES as readonly string[]).includes(n));
  if (unknown !== undefined) {
    throw new BenchUsageError(
      `--baselines: unknown baseline "${unknown}" (expected lr, lr-std, centroid, or none)`,
    );
  }
  return names as Baseline[];
}

const pct = (x: number) => x.toFixed(3);

/** A number > 0 (or >= `least` when given), a whole one if `integer`. */
/** `--softmax-head`: positive numbers, comma-separated. */
function parseStrengths(text: string): number[] {
  const cs = text.split(',').map((t) => Number(t.trim()));
  if (cs.length === 0 || cs.some((c) => !(c > 0) || !Number.isFinite(c))) {
    throw new BenchUsageError(
      `--softmax-head: expected positive numbers, comma-separated (e.g. 0.01,1), got "${text}"`,
    );
  }
  return cs;
}

function positive(option: string, text: string, integer: boolean, least?: number): number {
  const x = Number(text);
  if (!(least === undefined ? x > 0 : x >= least) || (integer && !Number.isInteger(x))) {
    throw new BenchUsageError(
      `${option}: expected a ${least === undefined ? 'positive' : `>= ${least}`} ${integer ? 'integer' : 'number'}, got "${text}"`,
    );
  }
  return x;
}

async function main(): Promise<void> {
  const program = new Command('bench:hard')
    .description('Hard cases (issue 11): published defaults over seeds vs pooled baselines on the same cells')
    .option('--data <dir>', DATASETS_OPTION_HELP, defaultDatasetsDir())
    .option(
      '--cases <list>',
      'all, kinds (scenario, single-study, subsampled, leave-one-type-out), scenarios or case names, comma-separated',
      'single-study',
    )
    .option('--seeds <list>', 'training seeds, e.g. 1-10 or 1,2,3 (none: the baselines only)', '1-10')
    .option('--baselines <list>', 'lr, lr-std, centroid (comma-separated) or none', 'lr,lr-std,centroid')
    .option('--lr-steps <n>', 'logistic regression: at most this many Adam steps', '2000')
    .option('--lr-rate <x>', 'logistic regression: Adam learning rate', '0.05')
    .addOption(
      new Option('--preset <name>', 'the federated method: a training preset of `scprivacy run`')
        .choices(PRESET_NAMES)
        .default('published'),
    )
    .option('--rounds <n>', "rounds (per model; default: the preset's)")
    .option(
      '--variable-genes <n>',
      "genes of largest dispersion per institution to train on, 0 every gene (default: the preset's)",
    )
    .option(
      '--variable-genes-per-cell <n>',
      "with variable genes: at most n genes per reference cell at each institution, 0 no cap (default: the preset's)",
    )
    .option(
      '--detected-values-per-gene <n>',
      "with variable genes: at most one gene per n values detected in an institution's reference cells, 0 no cap (default: the preset's)",
    )
    .option('--hidden-size <n>', 'hidden layer size of the model (default: the published 500)')
    .option('--embedding-size <n>', 'embedding size of the model (default: the published 20)')
    .option('--ensemble-size <n>', "models averaged at annotation (default: the preset's)")
    .option('--input-dropout <p>', "gene dropout while training, 0 none (default: the preset's)")
    .option(
      '--input-dropout-min-detection <f>',
      "gene dropout only at institutions detecting this fraction of their genes (default: the preset's)",
    )
    .option(
      '--softmax-head <list>',
      'probe: also score a softmax head on the embedding, per regularisation strength C (comma-separated, e.g. 0.01,1)',
    )
    .option('--threads <n>', 'worker threads', String(availableParallelism()))
    .option('--out-dir <dir>', 'where hard-cases-<date>.{json,md} go', 'bench-output')
    .option('--list', 'print the case names and exit')
    .option(
      '--report <files>',
      'instead: the tables of saved hard-cases-<date>.json files (comma-separated), merged',
    )
    .option(
      '--rescore',
      'with --report: score novel-type detection again from the saved cells (the current --reject-threshold auto), no training',
    )
    .option('--child <json>', 'internal: run one case and print its JSON')
    .parse();
  const o = program.opts();
  if (o.child) {
    const spec = JSON.parse(o.child) as FederatedSpec | BaselineSpec;
    const result = spec.kind === 'federated' ? await runFederated(spec) : await runBaselines(spec);
    process.stdout.write(JSON.stringify(result) + '\n');
    process.exit(0);
  }
  if (o.report) {
    const saved: SavedRun[] = [];
    for (const file of String(o.report).split(',')) {
      try {
        saved.push(JSON.parse(await readFile(file, 'utf8')) as SavedRun);
      } catch (error) {
        throw new BenchUsageError(`--report: cannot read ${file}: ${(error as Error).message}`);
      }
    }
    const { cases, runs } = mergeSaved(saved);
    if (o.rescore) await rescoreNovel(runs, o.data);
    const sources = saved.map((s) => `${s.date.slice(0, 16)}Z \`${s.command}\``).join('; ');
    process.stdout.write(`From ${sources}\n\n${resultTables(cases, runs)}\n`);
    return;
  }
  if (o.list) {
    process.stdout.write(HARD_CASES.map((c) => `${c.name}\t${c.kind}`).join('\n') + '\n');
    return;
  }
  const cases = selectCases(String(o.cases));
  const seeds = parseSeeds(String(o.seeds));
  const baselines = parseBaselines(String(o.baselines));
  const preset = TRAINING_PRESETS[o.preset as PresetName];
  const rounds = o.rounds === undefined ? preset.rounds : positive('--rounds', o.rounds, true);
  const ensembleSize =
    o.ensembleSize === undefined ? preset.ensembleSize : positive('--ensemble-size', o.ensembleSize, true);
  const variableGenes =
    o.variableGenes === undefined
      ? preset.variableGenes
      : positive('--variable-genes', o.variableGenes, true, 0);
  const variableGenesPerCell =
    o.variableGenesPerCell === undefined ? preset.variableGenesPerCell : Number(o.variableGenesPerCell);
  if (!isGenesPerCell(variableGenesPerCell)) {
    throw new BenchUsageError(
      `--variable-genes-per-cell: expected 0 (no cap) or a whole number from 1 to ${MAX_GENES_PER_CELL}, got "${o.variableGenesPerCell}"`,
    );
  }
  const detectedValuesPerGene =
    o.detectedValuesPerGene === undefined ? preset.detectedValuesPerGene : Number(o.detectedValuesPerGene);
  if (!isDetectedValuesPerGene(detectedValuesPerGene)) {
    throw new BenchUsageError(
      `--detected-values-per-gene: expected 0 (no cap) or a whole number from 1 to ${MAX_DETECTED_VALUES_PER_GENE}, got "${o.detectedValuesPerGene}"`,
    );
  }
  const inputDropout = o.inputDropout === undefined ? preset.inputDropout : Number(o.inputDropout);
  if (!isInputDropout(inputDropout)) {
    throw new BenchUsageError(
      `--input-dropout: expected a number from 0 to ${MAX_INPUT_DROPOUT}, got "${o.inputDropout}"`,
    );
  }
  const inputDropoutMinDetection =
    o.inputDropoutMinDetection === undefined
      ? preset.inputDropoutMinDetection
      : Number(o.inputDropoutMinDetection);
  if (!isDetectionFraction(inputDropoutMinDetection)) {
    throw new BenchUsageError(
      `--input-dropout-min-detection: expected a fraction from 0 to 1, got "${o.inputDropoutMinDetection}"`,
    );
  }
  const sizes = {
    ...(o.hiddenSize !== undefined && { hiddenSize: positive('--hidden-size', o.hiddenSize, true) }),
    ...(o.embeddingSize !== undefined && {
      embeddingSize: positive('--embedding-size', o.embeddingSize, true),
    }),
  };
  const changed = [
    ...(sizes.hiddenSize === undefined ? [] : [`hidden ${sizes.hiddenSize}`]),
    ...(sizes.embeddingSize === undefined ? [] : [`embedding ${sizes.embeddingSize}`]),
    ...(variableGenes === preset.variableGenes ? [] : [`${variableGenes} genes per institution`]),
    ...(variableGenesPerCell === preset.variableGenesPerCell
      ? []
      : [`at most ${variableGenesPerCell} genes per cell`]),
    ...(detectedValuesPerGene === preset.detectedValuesPerGene
      ? []
      : [`a gene per ${detectedValuesPerGene} detected values`]),
    ...(ensembleSize === preset.ensembleSize ? [] : [`${ensembleSize} models`]),
    ...(inputDropout === preset.inputDropout ? [] : [`gene dropout ${inputDropout}`]),
    ...(inputDropoutMinDetection === preset.inputDropoutMinDetection
      ? []
      : [`dropout from ${inputDropoutMinDetection} detected`]),
  ];
  const label = [String(o.preset), ...changed].join(', ');
  const softmaxHead = o.softmaxHead === undefined ? [] : parseStrengths(String(o.softmaxHead));
  const threads = positive('--threads', o.threads, true);
  const lr: LogisticRegressionOptions = {
    maxSteps: positive('--lr-steps', o.lrSteps, true),
    learningRate: positive('--lr-rate', o.lrRate, false),
  };
  const dataRoot = checkDatasets(o.data, [...new Set(cases.flatMap(caseFiles))]);
  const self = fileURLToPath(import.meta.url);
  const started = new Date();
  const stem = join(o.outDir, `hard-cases-${started.toISOString().slice(0, 10)}`);
  const command = `npm run bench:hard -- ${process.argv.slice(2).join(' ')}`.trim();
  const records: CaseRecord[] = [];
  const runs: FederatedRecord[] = [];
  const failures: { case: string; seed?: number; error: string }[] = [];
  await mkdir(o.outDir, { recursive: true });
  const save = () =>
    writeFile(
      `${stem}.json`,
      JSON.stringify(
        {
          date: started.toISOString(),
          command,
          preset: label,
          variableGenes,
          variableGenesPerCell,
          detectedValuesPerGene,
          rounds,
          ensembleSize,
          inputDropout,
          inputDropoutMinDetection,
          threads,
          lr,
          cases: records,
          runs,
          failures,
        },
        null,
        2,
      ) + '\n',
    );
  const log = (line: string) => process.stderr.write(`${line}\n`);
  // A run that fails is recorded and reported, and the others go on: one case must not cost the night.
  const attempt = <T>(what: { case: string; seed?: number }, spec: object): T | undefined => {
    try {
      return runChild(self, ['--child', JSON.stringify(spec)]) as T;
    } catch (error) {
      const message = (error as Error).message;
      failures.push({ ...what, error: message });
      log(
        `${what.case}${what.seed === undefined ? '' : `, seed ${what.seed}`}: FAILED ${message.split('\n').slice(0, 3).join(' ')}`,
      );
      return undefined;
    }
  };
  for (const c of cases) {
    // The baselines also describe the case (cells, types), so they run even when none is asked for.
    const baselineSpec: BaselineSpec = { kind: 'baselines', dataRoot, case: c.name, baselines, lr };
    const record = attempt<CaseRecord>({ case: c.name }, baselineSpec);
    if (record === undefined) continue;
    records.push(record);
    log(
      `${c.name}: ${record.referenceCells} reference cells, ${record.types.length} types, ${record.genes} genes` +
        (record.lr
          ? `; LR ${pct(record.lr.accuracy)} (${record.lr.steps} steps, ${record.lr.seconds.toFixed(1)} s)`
          : '') +
        (record.lrStd
          ? `; LR on standardised shared genes ${pct(record.lrStd.accuracy)} (${record.lrStd.steps} steps)`
          : '') +
        (record.centroid ? `; centroid ${pct(record.centroid.accuracy)}` : ''),
    );
    await save();
    for (const seed of seeds) {
      const spec: FederatedSpec = {
        kind: 'federated',
        dataRoot,
        case: c.name,
        seed,
        rounds,
        threads,
        preset: label,
        ensembleSize,
        variableGenes,
        variableGenesPerCell,
        detectedValuesPerGene,
        ...sizes,
        inputDropout,
        inputDropoutMinDetection,
        softmaxHead,
      };
      const run = attempt<FederatedRecord>({ case: c.name, seed }, spec);
      if (run === undefined) continue;
      runs.push(run);
      log(
        `${c.name}, seed ${seed}: accuracy ${pct(run.accuracy)} on ${run.scoredCells} cells ` +
          `(${run.excludedCells} excluded), training ${run.trainingSeconds.toFixed(1)} s` +
          (run.novel
            ? `; novel vs known AUROC ${pct(run.novel.auroc)}, auto rejects ${pct(run.novel.auto.novelRejected)} of novel, ${pct(run.novel.auto.knownRejected)} of known`
            : '') +
          (run.softmaxHead
            ? `; softmax head ${run.softmaxHead.map((h) => `C ${h.C}: ${pct(h.accuracy)}`).join(', ')}`
            : ''),
      );
      await save(); // a later failure keeps what was measured
    }
  }
  const markdown =
    `Hard cases, ${started.toISOString()}: \`${command}\` (preset ${o.preset}: ${rounds} rounds` +
    `${ensembleSize > 1 ? ` x ${ensembleSize} models` : ''}, ${threads} threads)\n\n` +
    resultTables(records, runs) +
    (failures.length
      ? `\n\nFailed: ${failures.map((f) => `${f.case}${f.seed === undefined ? '' : ` seed ${f.seed}`}`).join(', ')}`
      : '') +
    '\n';
  await writeFile(`${stem}.md`, markdown);
  process.stdout.write(markdown);
  if (failures.length > 0) process.exitCode = 1;
}

runBenchMain('bench:hard', main);
