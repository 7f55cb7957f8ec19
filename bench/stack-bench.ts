/**
 * `npm run bench:stack`: the pbmc scenario of ../shared/datasets federated through the platform
 * (api, aggregator and three workers as processes; Postgres, a private Redis, an S3 server on
 * loopback) and the same federation embedded, in one run; then a 10,000-cell query annotated
 * through REST and with the embedded `scprivacy annotate`. Prints the figures, writes them to
 * bench-output/stack-bench.json and into docs/benchmarks.md between the stack-bench markers.
 *
 * Targets (issue 4): distributed <= 1.5x the embedded time; per-round orchestration overhead
 * (queue + storage) < 100 ms at 3 institutions; REST annotation <= 3x the embedded annotate.
 */
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { createGzip } from 'node:zlib';
import { Command } from 'commander';
import { readExpression } from '@fl/formats';
import { saveBundle } from '@fl/federation';
import { Stack } from '../scripts/local-stack/stack';
import { checkDatasets, DATASETS_OPTION_HELP, defaultDatasetsDir, runBenchMain } from './datasets';
import {
  completedRounds,
  finalWeights,
  institutionsOf,
  median,
  runDistributed,
  runEmbedded,
  sameModel,
  type FederationSettings,
} from './federation-runs';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Figures {
  rounds: number;
  embeddedSeconds: number;
  embeddedTrainingSeconds: number;
  distributedSeconds: number;
  ratio: number;
  roundMsMedian: number;
  overheadMsMedian: number;
  overheadMsP90: number;
  /** Round time minus the slowest worker's computation minus object-store transfers (target < 100 ms). */
  outsideComputeAndTransfersMsMedian: number;
  objectStoreMsMedian: number;
  bytesPerFederation: number;
  workerComputeMsMedian: number;
  bytesMovedPerRound: number;
  sameModel: boolean;
  annotation?: {
    cells: number;
    embeddedSeconds: number;
    restSeconds: number;
    ratio: number;
    sameResult: boolean;
  };
}

async function main(): Promise<void> {
  const opts = new Command('bench:stack')
    .description('Federation and annotation through the platform vs embedded (pbmc scenario)')
    .option('--data <dir>', DATASETS_OPTION_HELP, defaultDatasetsDir())
    .option('--rounds <n>', 'rounds (published default 300)', '300')
    .option('--repeats <n>', 'repeats; medians are reported', '1')
    .option('--query-cells <n>', 'cells of the annotation query (resampled pbmc query)', '10000')
    .option('--out <file>', 'JSON output', 'bench-output/stack-bench.json')
    .option('--markdown <file>', 'markdown file whose stack-bench section is replaced', 'docs/benchmarks.md')
    .parse()
    .opts<{
      data: string;
      rounds: string;
      repeats: string;
      queryCells: string;
      out: string;
      markdown: string;
    }>();
  const rounds = Number(opts.rounds);
  const refFiles = ['pbmc3k_10x_v1', 'pbmc_10x_3p_v2', 'pbmc_10x_5p_vdj'].map(
    (n) => `pbmc/reference/${n}.csv`,
  );
  const queryFile = 'pbmc/query/pbmc_10x_3p_v3.csv';
  // Checked before any service starts: a missing file would otherwise surface minutes in.
  const data = checkDatasets(opts.data, [...refFiles, queryFile]);
  const institutions = institutionsOf(refFiles.map((f) => join(data, f)));
  const runs: Figures[] = [];
  for (let r = 0; r < Number(opts.repeats); r++) {
    console.log(`\n== repeat ${r + 1} of ${opts.repeats}`);
    runs.push(await oneRun(institutions, rounds, Number(opts.queryCells), join(data, queryFile)));
  }
  const pick = (f: (x: Figures) => number) => median(runs.map(f));
  const summary = {
    date: new Date().toISOString(),
    rounds,
    repeats: runs.length,
    medians: {
      embeddedSeconds: pick((x) => x.embeddedSeconds),
      distributedSeconds: pick((x) => x.distributedSeconds),
      ratio: pick((x) => x.ratio),
      overheadMsMedian: pick((x) => x.overheadMsMedian),
      outsideComputeAndTransfersMsMedian: pick((x) => x.outsideComputeAndTransfersMsMedian),
      objectStoreMsMedian: pick((x) => x.objectStoreMsMedian),
      bytesPerFederation: pick((x) => x.bytesPerFederation),
      bytesMovedPerRound: pick((x) => x.bytesMovedPerRound),
      annotationRatio: pick((x) => x.annotation?.ratio ?? NaN),
    },
    runs,
  };
  await mkdir('bench-output', { recursive: true });
  await writeFile(opts.out, JSON.stringify(summary, null, 2) + '\n');
  const table = markdown(runs);
  console.log('\n' + table);
  const md = await readFile(opts.markdown, 'utf8').catch(() => '');
  const start = '<!-- stack-bench:start -->';
  const end = '<!-- stack-bench:end -->';
  if (md.includes(start) && md.includes(end)) {
    await writeFile(
      opts.markdown,
      md.slice(0, md.indexOf(start) + start.length) + '\n' + table + '\n' + md.slice(md.indexOf(end)),
    );
  }
  console.log(`written to ${opts.out}`);
}

async function oneRun(
  institutions: { name: string; datasets: string[] }[],
  rounds: number,
  queryCells: number,
  queryPath: string,
): Promise<Figures> {
  const dir = await mkdtemp(join(tmpdir(), 'scp-stack-bench-'));
  // Published defaults, secure aggregation on (16-bit lanes), seed 1.
  const settings: FederationSettings = {
    rounds,
    localSteps: 1,
    seed: 1,
    secaggBits: 16,
    allowSingletonTypes: false,
  };
  try {
    console.log('embedded federation…');
    const { seconds: embeddedSeconds, trained: embedded } = await runEmbedded(institutions, settings);
    console.log(`  ${embeddedSeconds.toFixed(1)} s (training ${embedded.trainingSeconds.toFixed(1)} s)`);

    console.log('starting the platform…');
    const stack = await new Stack({ dir, consortium: 'bench', institutions }).start();
    try {
      console.log('distributed federation…');
      const { federationId: id, seconds: distributedSeconds } = await runDistributed(
        stack,
        institutions,
        settings,
        (round) => {
          if (round % 25 === 0) process.stdout.write(`\r  round ${round}/${rounds}   `);
        },
      );
      console.log(`\n  ${distributedSeconds.toFixed(1)} s`);

      const roundRows = await completedRounds(stack, id);
      const overhead: number[] = [];
      const outsideMs: number[] = [];
      const transferMs: number[] = [];
      const roundMs: number[] = [];
      const compute: number[] = [];
      let bytes = 0;
      for (const row of roundRows) {
        const t = row.timings;
        const insts = Object.values(t.institutions);
        const slowest = Math.max(...insts.map((i) => i.trainMs + i.maskMs));
        // Object store: the slowest worker's reads and upload, the aggregator's reads and writes.
        const transfers = Math.max(...insts.map((i) => i.transferMs)) + (t.fetchMs ?? 0) + t.storeMs;
        roundMs.push(t.totalMs);
        compute.push(slowest);
        transferMs.push(transfers);
        // Everything but the slowest institution's own computation: queueing, transfers,
        // storage, checks and unmasking at the aggregator.
        overhead.push(t.totalMs - slowest);
        // ... and without the object-store transfers: queueing, checks, unmasking, database.
        outsideMs.push(t.totalMs - slowest - transfers);
        // Up: the masked updates; down: what each worker really read (aggregates, or a full model).
        const down = insts.every((i) => i.modelBytesIn !== undefined)
          ? insts.reduce((n, i) => n + i.modelBytesIn!, 0)
          : row.bytesOut;
        bytes += row.bytesIn + down;
      }
      overhead.sort((a, b) => a - b);
      const final = await stack.db.prisma.modelVersion.findFirstOrThrow({
        where: { federationId: id, round: rounds },
      });
      const weights = await finalWeights(stack, id, rounds);

      const figures: Figures = {
        rounds,
        embeddedSeconds,
        embeddedTrainingSeconds: embedded.trainingSeconds,
        distributedSeconds,
        ratio: distributedSeconds / embeddedSeconds,
        roundMsMedian: median(roundMs),
        overheadMsMedian: median(overhead),
        overheadMsP90: overhead[Math.floor(overhead.length * 0.9)] ?? NaN,
        outsideComputeAndTransfersMsMedian: median(outsideMs),
        objectStoreMsMedian: median(transferMs),
        bytesPerFederation: bytes,
        workerComputeMsMedian: median(compute),
        bytesMovedPerRound: bytes / Math.max(1, roundRows.length),
        sameModel: sameModel(embedded, weights),
      };

      // Annotation of a 10,000-cell query: REST (upload to downloadable result) vs the CLI.
      console.log(`annotation of ${queryCells} cells…`);
      const query = await resampledQuery(queryPath, queryCells, dir);
      const bundleDir = join(dir, 'bundle');
      await saveBundle(bundleDir, embedded.model, {
        options: embedded.options,
        backend: embedded.backend,
        institutions: embedded.institutions,
        toolVersion: 'bench',
      });
      const cliStarted = performance.now();
      await run(process.execPath, [
        'dist/cli/main.js',
        'annotate',
        '--model',
        bundleDir,
        '--test',
        query,
        '--out',
        join(dir, 'cli', 'result.txt'),
        '-q',
      ]);
      const embeddedAnnotate = (performance.now() - cliStarted) / 1000;
      const restStarted = performance.now();
      const res = await stack.upload('/api/v1/annotations', query, stack.adminToken, {
        modelVersionId: final.id,
      });
      if (res.status !== 202) throw new Error(`annotation upload: HTTP ${res.status} ${await res.text()}`);
      const job = (await res.json()) as { id: string };
      let result = '';
      for (;;) {
        const r = await fetch(`${stack.apiUrl}/api/v1/annotations/${job.id}/result.txt`, {
          headers: { authorization: `Bearer ${stack.adminToken}` },
        });
        if (r.status === 200) {
          result = await r.text();
          break;
        }
        if (r.status !== 409) throw new Error(`annotation result: HTTP ${r.status} ${await r.text()}`);
        await sleep(20);
      }
      const restSeconds = (performance.now() - restStarted) / 1000;
      const cliResult = await readFile(join(dir, 'cli', 'result.txt'), 'utf8');
      figures.annotation = {
        cells: queryCells,
        embeddedSeconds: embeddedAnnotate,
        restSeconds,
        ratio: restSeconds / embeddedAnnotate,
        sameResult: cliResult === result,
      };
      console.log(JSON.stringify(figures, null, 2));
      return figures;
    } finally {
      await stack.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The pbmc query's cells resampled (fixed stride) to `cells`, written as a gzipped CSV. */
async function resampledQuery(path: string, cells: number, dir: string): Promise<string> {
  const source = await readExpression(path, { role: 'query' });
  const n = source.cellIds.length;
  const g = source.genes.length;
  const out = join(dir, `${basename(path, '.csv')}_${cells}.csv.gz`);
  const gzip = createGzip({ level: 1 });
  const file = createWriteStream(out);
  gzip.pipe(file);
  const write = (s: string) =>
    gzip.write(s) ? Promise.resolve() : new Promise<void>((r) => gzip.once('drain', () => r()));
  await write(['cell', ...source.genes].join(',') + '\n');
  for (let c = 0; c < cells; c++) {
    const from = ((c * 7919) % n) * g;
    const row = new Array<string>(g);
    for (let j = 0; j < g; j++) {
      const v = source.values[from + j];
      row[j] = v === 0 ? '0' : String(v);
    }
    await write(`cell${c},${row.join(',')}\n`);
  }
  gzip.end();
  await new Promise<void>((r) => file.once('close', () => r()));
  return out;
}

function markdown(runs: Figures[]): string {
  const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '—');
  const lines = [
    '| repeat | rounds | embedded s | distributed s | ratio | round ms, median | overhead ms (round − slowest compute), median / p90 | object-store transfers ms, median | outside compute and transfers ms, median (target < 100) | slowest worker compute ms | MB moved per round | MB per federation | same model | REST annotation s / embedded s (ratio, target ≤ 3) | same result.txt |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...runs.map(
      (r, i) =>
        `| ${i + 1} | ${r.rounds} | ${f(r.embeddedSeconds)} | ${f(r.distributedSeconds)} | ${f(r.ratio, 2)} | ${f(r.roundMsMedian, 0)} | ${f(r.overheadMsMedian, 0)} / ${f(r.overheadMsP90, 0)} | ${f(r.objectStoreMsMedian, 0)} | ${f(r.outsideComputeAndTransfersMsMedian, 0)} | ${f(r.workerComputeMsMedian, 0)} | ${f(r.bytesMovedPerRound / 1e6, 1)} | ${f(r.bytesPerFederation / 1e6, 0)} | ${r.sameModel ? 'yes' : 'no'} | ` +
        (r.annotation
          ? `${f(r.annotation.restSeconds, 2)} / ${f(r.annotation.embeddedSeconds, 2)} (${f(r.annotation.ratio, 2)}) | ${r.annotation.sameResult ? 'yes' : 'no'} |`
          : '— | — |'),
    ),
  ];
  return lines.join('\n');
}

runBenchMain('bench:stack', main);
