/**
 * `npm run bench`: the published defaults on the scenarios of ../shared/datasets (each
 * scenario's references are the institutions; its query is annotated and scored), plus the
 * annotation throughput at 2,000 genes. Every (scenario, seed) runs in a child process so
 * its peak memory is its own. Writes bench-output/benchmark.json and the table in
 * docs/benchmarks.md.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { evaluate, readLabelTable } from '@fl/evaluation';
import { initParameters } from '@fl/engine';
import { annotateMatrix, type FederatedModel } from '@fl/federation';
import {
  datasetName,
  listDataFiles,
  readExpression,
  sharedFloat32,
  type ExpressionMatrix,
} from '@fl/formats';
import { runChild } from './child-runner';
import { runPublished } from './published-run';
import { checkDatasets, DATASETS_OPTION_HELP, defaultDatasetsDir, runBenchMain } from './datasets';
import {
  compareSecure,
  parseSchedules,
  runSchedule,
  scheduleTable,
  secureCompareTable,
  type CaseResult,
  type CaseSpec,
  type ScheduleResult,
  type SecureComparison,
} from './secure-compare';

interface ScenarioResult {
  scenario: string;
  seed: number;
  institutions: number;
  genes: number;
  queryCells: number;
  rounds: number;
  backend: string;
  threads: number;
  accuracy: number;
  macroF1: number;
  readSeconds: number;
  trainingSeconds: number;
  annotationSeconds: number;
  peakRssMB: number;
  secureAggregation: boolean;
}

interface ThroughputResult {
  genes: number;
  cells: number;
  threads: number;
  seconds: number;
  cellsPerSecond: number;
}

/** Published figures from ../shared/datasets/REFERENCE.md (PyTorch, same machine kind). */
const REFERENCE: Record<string, { accuracy: number; efficientSeconds: number; publishedSeconds?: number }> = {
  pancreas: { accuracy: 0.964, efficientSeconds: 71, publishedSeconds: 215 },
  pbmc: { accuracy: 0.977, efficientSeconds: 71 },
  cellline: { accuracy: 1.0, efficientSeconds: 719 },
};

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function runScenario(
  dir: string,
  seed: number,
  rounds: number,
  threads: number,
  secure = false,
  localSteps = 1,
  bits: 8 | 16 | 32 = 16,
): Promise<ScenarioResult & { labels: string[] }> {
  const readStarted = performance.now();
  const refFiles = await listDataFiles(join(dir, 'reference'));
  const references = [];
  for (const f of refFiles) {
    references.push({ name: datasetName(f), matrix: await readExpression(f, { role: 'reference' }) });
  }
  const queryFile = (await listDataFiles(join(dir, 'query'))).find((f) => f.endsWith('.csv'))!;
  const query = await readExpression(queryFile, { role: 'query' });
  const readSeconds = (performance.now() - readStarted) / 1000;
  const { trained, annotation, annotationSeconds } = await runPublished(references, query, {
    seed,
    rounds,
    threads,
    secure,
    localSteps,
    bits,
  });
  const truth = await readLabelTable(queryFile.replace(/\.csv$/, '.labels.tsv'), 'truth');
  const report = evaluate(new Map(annotation.cellIds.map((id, i) => [id, annotation.labels[i]])), truth);
  return {
    scenario: dir.split('/').pop()!,
    seed,
    institutions: references.length,
    genes: trained.model.genes.length,
    queryCells: query.cellIds.length,
    rounds,
    backend: trained.backend,
    threads,
    accuracy: report.accuracy,
    macroF1: report.macroF1,
    readSeconds,
    trainingSeconds: trained.trainingSeconds,
    annotationSeconds,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    secureAggregation: secure,
    labels: annotation.labels,
  };
}

const THROUGHPUT_QUERY = 'pbmc/query/pbmc_10x_3p_v3.csv';

/**
 * Embedding + assignment throughput at 2,000 genes: the pbmc query's first 2,000 genes,
 * its cells resampled (with replacement, fixed stride) to `cells`; random weights and
 * landmarks, since the cost does not depend on their values.
 */
async function runThroughput(dataRoot: string, cells: number, threads: number): Promise<ThroughputResult> {
  const source = await readExpression(join(dataRoot, THROUGHPUT_QUERY), { role: 'query' });
  const genes = 2000;
  const nSource = source.cellIds.length;
  const values = sharedFloat32(cells * genes); // as the readers allocate it
  for (let c = 0; c < cells; c++) {
    const from = ((c * 7919) % nSource) * source.genes.length;
    values.set(source.values.subarray(from, from + genes), c * genes);
  }
  const matrix: ExpressionMatrix = {
    source: 'resampled pbmc_10x_3p_v3',
    cellIds: Array.from({ length: cells }, (_, i) => `cell${i}`),
    genes: source.genes.slice(0, genes),
    values,
  };
  const shape = { inputSize: genes, hiddenSize: 500, embeddingSize: 20 };
  const landmarkValues = Float32Array.from({ length: 5 * 20 }, (_, j) => Math.sin(j * 12.9898) * 0.5);
  const model: FederatedModel = {
    genes: matrix.genes.map((g) => g.toLowerCase()),
    shape,
    params: initParameters(shape, 1),
    landmarks: [0, 1, 2].map((i) => ({
      institution: `inst${i}`,
      types: ['a', 'b', 'c', 'd', 'e'],
      cellCounts: [1, 1, 1, 1, 1],
      landmarks: Float32Array.from(landmarkValues, (v, j) => v * (i + 1) + j * 0.001),
    })),
  };
  await annotateMatrix(model, { ...matrix, cellIds: matrix.cellIds.slice(0, 1000) }, { threads }); // warm-up
  const started = performance.now();
  await annotateMatrix(model, matrix, { threads });
  const seconds = (performance.now() - started) / 1000;
  return { genes, cells, threads, seconds, cellsPerSecond: cells / seconds };
}

function child(args: string[]): unknown {
  return runChild(fileURLToPath(import.meta.url), args);
}

function markdownTable(results: ScenarioResult[], throughput: ThroughputResult[]): string {
  const byScenario = new Map<string, ScenarioResult[]>();
  for (const r of results) byScenario.set(r.scenario, [...(byScenario.get(r.scenario) ?? []), r]);
  const rows = [...byScenario].map(([scenario, rs]) => {
    const ref = REFERENCE[scenario];
    const acc = median(rs.map((r) => r.accuracy));
    const train = median(rs.map((r) => r.trainingSeconds));
    return (
      `| ${scenario} | ${rs[0].institutions} x ${rs[0].genes} | ${rs.map((r) => r.seed).join(', ')} | ` +
      `${acc.toFixed(3)} (${median(rs.map((r) => r.macroF1)).toFixed(3)}) | ${rs.map((r) => r.accuracy.toFixed(3)).join(', ')} | ` +
      `${ref ? ref.accuracy.toFixed(3) : '—'} | ${train.toFixed(1)} | ${ref ? ref.efficientSeconds : '—'} | ` +
      `${ref?.publishedSeconds ?? '—'} | ${ref ? (ref.efficientSeconds / train).toFixed(1) + 'x' : '—'} | ` +
      `${median(rs.map((r) => r.annotationSeconds)).toFixed(2)} | ` +
      `${median(rs.map((r) => r.readSeconds)).toFixed(1)} | ${Math.round(Math.max(...rs.map((r) => r.peakRssMB)))} |`
    );
  });
  const tp = throughput.map(
    (t) =>
      `| ${t.genes} | ${t.cells} | ${t.threads} | ${t.seconds.toFixed(2)} | ${Math.round(t.cellsPerSecond)} |`,
  );
  return [
    '| scenario | institutions x genes | seeds | accuracy, median (macro-F1) | accuracy per seed | reference accuracy | training s, median | PyTorch efficient s (REFERENCE.md) | PyTorch published path s | speed-up vs efficient | annotation s | reading s | peak RSS MB |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    'Annotation throughput (embedding + assignment; random weights, resampled pbmc query cells):',
    '',
    '| genes | cells | threads | seconds | cells/s |',
    '|---|---|---|---|---|',
    ...tp,
  ].join('\n');
}

async function main(): Promise<void> {
  const program = new Command('benchmark')
    .description('Benchmarks scPrivacy on the scenarios of ../shared/datasets with the published defaults')
    .option('--data <dir>', DATASETS_OPTION_HELP, defaultDatasetsDir())
    .option('--scenarios <list>', 'comma-separated scenarios', 'pancreas,pbmc,cellline')
    .option('--seeds <list>', 'comma-separated seeds', '1,2,3')
    .option('--rounds <n>', 'rounds', '300')
    .option('--threads <n>', 'worker threads', String(availableParallelism()))
    .option('--throughput-cells <n>', 'cells for the throughput run', '100000')
    .option('--out <file>', 'JSON output', 'bench-output/benchmark.json')
    .option('--markdown <file>', 'markdown file whose table is replaced', 'docs/benchmarks.md')
    .option(
      '--compare-secure',
      'instead: plain and secure aggregation back to back for every scenario and seed (bench-output/secure-compare.json)',
    )
    .option(
      '--secagg-bits <bits>',
      'lane width of secure aggregation for --compare-secure and --schedules',
      '16',
    )
    .option(
      '--schedules <list>',
      'instead: rounds x local steps with secure aggregation on, e.g. 300x1,60x5,30x10,15x20 (bench-output/schedules.json)',
    )
    .option('--child <json>', 'internal: run one case and print its JSON')
    .parse();
  const o = program.opts();
  if (o.child) {
    const c = JSON.parse(o.child);
    const result =
      c.kind === 'scenario'
        ? await runScenario(c.dir, c.seed, c.rounds, c.threads, c.secure, c.localSteps, c.bits)
        : await runThroughput(c.dataRoot, c.cells, c.threads);
    process.stdout.write(JSON.stringify(result) + '\n');
    process.exit(0);
  }
  const scenarios = String(o.scenarios).split(',').filter(Boolean);
  // The throughput run resamples the pbmc query whatever the scenarios.
  const dataRoot = checkDatasets(o.data, [
    ...scenarios.flatMap((s) => [join(s, 'reference'), join(s, 'query')]),
    THROUGHPUT_QUERY,
  ]);
  if (o.compareSecure || o.schedules) return secureBench(o, scenarios, dataRoot);
  const results: ScenarioResult[] = [];
  const throughput: ThroughputResult[] = [];
  const save = async () => {
    await mkdir(resolve(o.out, '..'), { recursive: true });
    await writeFile(
      o.out,
      JSON.stringify({ date: new Date().toISOString(), results, throughput }, null, 2) + '\n',
    );
  };
  for (const scenario of scenarios) {
    for (const seed of String(o.seeds).split(',').map(Number)) {
      process.stderr.write(`${scenario}, seed ${seed} ... `);
      const spec = {
        kind: 'scenario',
        dir: join(dataRoot, scenario),
        seed,
        rounds: Number(o.rounds),
        threads: Number(o.threads),
      };
      const { labels: _labels, ...r } = child(['--child', JSON.stringify(spec)]) as ScenarioResult & {
        labels: string[];
      };
      process.stderr.write(
        `accuracy ${r.accuracy.toFixed(3)}, macro-F1 ${r.macroF1.toFixed(3)}, training ${r.trainingSeconds.toFixed(1)} s, ` +
          `annotation ${r.annotationSeconds.toFixed(2)} s, peak ${Math.round(r.peakRssMB)} MB\n`,
      );
      results.push(r);
      await save(); // a later failure keeps what was measured
    }
  }
  for (const threads of [1, Number(o.threads)]) {
    const spec = { kind: 'throughput', dataRoot, cells: Number(o.throughputCells), threads };
    const t = child(['--child', JSON.stringify(spec)]) as ThroughputResult;
    process.stderr.write(
      `annotation throughput, ${threads} thread(s): ${Math.round(t.cellsPerSecond)} cells/s\n`,
    );
    throughput.push(t);
    await save();
  }
  const table = markdownTable(results, throughput);
  process.stdout.write(table + '\n');
  await mkdir(resolve(o.out, '..'), { recursive: true });
  await writeFile(
    o.out,
    JSON.stringify({ date: new Date().toISOString(), results, throughput }, null, 2) + '\n',
  );
  if (existsSync(o.markdown)) {
    const md = await readFile(o.markdown, 'utf8');
    const updated = md.replace(
      /<!-- bench:start -->[\s\S]*<!-- bench:end -->/,
      `<!-- bench:start -->\n${table}\n<!-- bench:end -->`,
    );
    await writeFile(o.markdown, updated);
  }
}

/**
 * --compare-secure and --schedules: secure-aggregation figures only (no throughput, and the
 * published-defaults table is left alone); each writes its JSON and its table in docs/benchmarks.md.
 */
async function secureBench(o: Record<string, string>, scenarios: string[], dataRoot: string): Promise<void> {
  const bits = Number(o.secaggBits) as 8 | 16 | 32;
  if (![8, 16, 32].includes(bits)) throw new Error(`--secagg-bits: must be 8, 16 or 32, got ${o.secaggBits}`);
  const seeds = String(o.seeds).split(',').map(Number);
  const threads = Number(o.threads);
  const run = (spec: CaseSpec): CaseResult =>
    child(['--child', JSON.stringify({ kind: 'scenario', threads, ...spec })]) as CaseResult;
  const log = (line: string) => process.stderr.write(`${line}\n`);
  await mkdir(resolve(o.out, '..'), { recursive: true });
  if (o.compareSecure) {
    const rows: SecureComparison[] = [];
    for (const scenario of scenarios)
      for (const seed of seeds) {
        rows.push(
          compareSecure(run, join(dataRoot, scenario), seed, { rounds: Number(o.rounds), bits }, log),
        );
        await writeJson('bench-output/secure-compare.json', rows);
      }
    await publish(o.markdown, 'secure-compare', secureCompareTable(rows));
  }
  if (o.schedules) {
    const rows: ScheduleResult[] = [];
    for (const scenario of scenarios)
      for (const schedule of parseSchedules(o.schedules))
        for (const seed of seeds) {
          rows.push(runSchedule(run, join(dataRoot, scenario), seed, schedule, bits, log));
          await writeJson('bench-output/schedules.json', rows);
        }
    await publish(o.markdown, 'schedules', scheduleTable(rows));
  }
}

async function writeJson(file: string, rows: unknown[]): Promise<void> {
  await writeFile(file, JSON.stringify({ date: new Date().toISOString(), rows }, null, 2) + '\n');
}

/** Prints the table and replaces the block between <!-- name:start --> and <!-- name:end -->. */
async function publish(markdown: string, name: string, table: string): Promise<void> {
  process.stdout.write(table + '\n');
  if (!existsSync(markdown)) return;
  const md = await readFile(markdown, 'utf8');
  const block = new RegExp(`<!-- ${name}:start -->[\\s\\S]*<!-- ${name}:end -->`);
  if (block.test(md))
    await writeFile(markdown, md.replace(block, `<!-- ${name}:start -->\n${table}\n<!-- ${name}:end -->`));
}

runBenchMain('bench', main);
