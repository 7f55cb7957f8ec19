/**
 * `npm run bench:sites`: the federation over a simulated WAN. Each institution's trainer worker
 * runs in its own Linux network namespace, joined to the host by a veth pair capped with
 * `tc ... tbf` in both directions (scripts/local-stack/netns.ts); the central services (api,
 * aggregator, a private Redis, the S3 server; Postgres stays on loopback) run on the host and
 * listen on the WAN's hub address. The same federation runs embedded, as in `bench:stack`
 * (bench/federation-runs.ts), and the platform's final model must be the embedded one bit for bit.
 *
 * Reported per configuration (rate, seed): round time (median of the aggregator's records),
 * bytes per round per site up and down as the host ends of the veth links counted them, next to
 * what the platform reports moving through the object store, federation time, and its ratio to
 * the embedded run. Writes bench-output/sites-<date>.{json,md}.
 *
 * Needs root (network namespaces, tc). Clean-up of the namespaces and links: on a normal end, an
 * exception, SIGINT/SIGTERM/SIGHUP, and (by netns.ts' watchdog and the start-up sweep) a kill.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { listDataFiles } from '@fl/formats';
import {
  netnsUnavailableReason,
  parseRate,
  SimulatedWan,
  sweepStaleWans,
} from '../scripts/local-stack/netns';
import { Stack } from '../scripts/local-stack/stack';
import {
  BenchUsageError,
  checkDatasets,
  DATASETS_OPTION_HELP,
  defaultDatasetsDir,
  runBenchMain,
} from './datasets';
import {
  completedRounds,
  finalWeights,
  institutionsOf,
  median,
  runDistributed,
  runEmbedded,
  sameModel,
  type EmbeddedRun,
  type FederationSettings,
  type RoundRecord,
} from './federation-runs';
import { LinkSampler } from './link-sampler';
import { report, type SiteRun, type Traffic } from './sites-report';

interface Options {
  data: string;
  scenario: string;
  sites?: string;
  rate: string;
  rounds: string;
  localSteps: string;
  seeds: string;
  secaggBits: string;
  burst: string;
  latency: string;
  out?: string;
}

function wholeNumber(name: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new BenchUsageError(`--${name} "${value}": expected a whole number of at least ${min}`);
  }
  return n;
}

function listOf<T>(name: string, value: string, parse: (v: string) => T): T[] {
  const items = value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
  if (items.length === 0) throw new BenchUsageError(`--${name}: expected at least one value`);
  return items.map(parse);
}

async function main(): Promise<void> {
  const opts = new Command('bench:sites')
    .description('Federation with each site behind its own capped link (network namespaces), vs embedded')
    .option('--data <dir>', DATASETS_OPTION_HELP, defaultDatasetsDir())
    .option('--scenario <name>', 'scenario folder: its reference files are the sites', 'pbmc')
    .option('--sites <n>', 'sites: the scenario’s first n references (default: all)')
    .option('--rate <rates>', 'link rate each way, tc units; a comma-separated list runs each', '100mbit')
    .option('--rounds <n>', 'rounds', '10')
    .option('--local-steps <n>', 'local steps per round', '10')
    .option('--seeds <list>', 'seeds, comma-separated; medians are reported', '1')
    .option('--secagg-bits <n>', 'bits per masked update value: 8, 16 or 32', '16')
    .option('--burst <size>', 'tc tbf burst', '32kbit')
    .option('--latency <time>', 'tc tbf latency (queue bound)', '400ms')
    .option('--out <base>', 'output files <base>.json and <base>.md (default bench-output/sites-<date>)')
    .parse()
    .opts<Options>();

  const rates = listOf('rate', opts.rate, (r) => {
    try {
      parseRate(r);
    } catch (e) {
      throw new BenchUsageError(`--rate: ${(e as Error).message}`);
    }
    return r;
  });
  const seeds = listOf('seeds', opts.seeds, (s) => wholeNumber('seeds', s, 0));
  const bits = wholeNumber('secagg-bits', opts.secaggBits, 8);
  if (bits !== 8 && bits !== 16 && bits !== 32) {
    throw new BenchUsageError(`--secagg-bits "${opts.secaggBits}": expected 8, 16 or 32`);
  }
  const base: Omit<FederationSettings, 'seed'> = {
    rounds: wholeNumber('rounds', opts.rounds, 1),
    localSteps: wholeNumber('local-steps', opts.localSteps, 1),
    secaggBits: bits,
    // No scenario of ../shared/datasets has a single-cell type (as bench:stack).
    allowSingletonTypes: false,
  };
  const data = checkDatasets(opts.data, [join(opts.scenario, 'reference')]);
  const references = (await listDataFiles(join(data, opts.scenario, 'reference'))).filter(
    (f) => !f.endsWith('.labels.tsv'),
  );
  const sites = opts.sites === undefined ? references.length : wholeNumber('sites', opts.sites, 1);
  if (sites > references.length) {
    throw new BenchUsageError(
      `--sites ${sites}: the ${opts.scenario} scenario has ${references.length} reference files (${data}/${opts.scenario}/reference)`,
    );
  }
  const institutions = institutionsOf(references.slice(0, sites));
  const unavailable = netnsUnavailableReason();
  if (unavailable) throw new BenchUsageError(`${unavailable}\n  bench:sites must run as root.`);

  const removed = sweepStaleWans();
  if (removed.length > 0) console.log(`removed leftovers of an earlier run: ${removed.join(', ')}`);

  // Clean-up, last registered first, on every exit path this process sees.
  // Run once, whether the run ends, fails or is interrupted (the first caller's promise).
  const cleanups: (() => Promise<void> | void)[] = [];
  let cleaning: Promise<void> | undefined;
  const cleanUp = () =>
    (cleaning ??= (async () => {
      for (let c = cleanups.pop(); c; c = cleanups.pop()) {
        try {
          await c();
        } catch (e) {
          console.error(`clean-up: ${(e as Error).message}`);
        }
      }
    })());
  let wan: SimulatedWan | undefined;
  let interrupted = false;
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    process.on(signal, () => {
      if (interrupted) {
        // A second signal does not wait for the services to stop: the links go at once.
        wan?.disposeSync();
        process.exit(code);
      }
      interrupted = true;
      console.error(`\n${signal}: stopping the platform and removing the namespaces…`);
      void cleanUp().finally(() => process.exit(code));
    });
  }

  // Other work on the machine skews every timing: said in the report.
  const loadAtStart = loadavg()[0];
  const dir = await mkdtemp(join(tmpdir(), 'scp-sites-bench-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const runs: SiteRun[] = [];
  try {
    // Embedded first, on an otherwise idle machine; it does not depend on the rate.
    const embedded = new Map<number, EmbeddedRun>();
    for (const seed of seeds) {
      console.log(`embedded federation, seed ${seed}…`);
      const run = await runEmbedded(institutions, { ...base, seed });
      console.log(`  ${run.seconds.toFixed(1)} s (training ${run.trained.trainingSeconds.toFixed(1)} s)`);
      embedded.set(seed, run);
    }

    console.log(`simulated WAN: ${sites} sites, ${rates[0]} each way per site…`);
    wan = SimulatedWan.create({ sites, rate: rates[0], burst: opts.burst, latency: opts.latency });
    const theWan = wan;
    cleanups.push(() => theWan.dispose());
    const namespaceOf = new Map(institutions.map((inst, i) => [inst.name, i + 1]));
    const stack = new Stack({
      dir,
      consortium: 'bench',
      institutions,
      bindHost: wan.hub,
      workerLauncher: (name) => theWan.launcher(namespaceOf.get(name)!),
      log: (m) => console.log(`  ${m}`),
    });
    cleanups.push(() => stack.stop());
    console.log(
      `starting the platform on ${wan.hub} (workers in ${wan.sites.map((s) => s.namespace).join(', ')})…`,
    );
    await stack.start();

    for (const rate of rates) {
      wan.setRate(rate);
      for (const seed of seeds) {
        console.log(`\n== ${rate}, seed ${seed}: distributed federation`);
        runs.push(await oneRun(stack, wan, institutions, { ...base, seed }, rate, embedded.get(seed)!));
      }
    }
  } finally {
    await cleanUp();
  }

  const date = new Date();
  const outBase = opts.out ?? join('bench-output', `sites-${date.toISOString().slice(0, 10)}`);
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GB, Linux ${release()}, Node ${process.version}; load average ${loadAtStart.toFixed(1)} at the start, ${loadavg()[0].toFixed(1)} at the end`;
  const command = `npm run bench:sites -- ${process.argv.slice(2).join(' ')}`.trim();
  const settings = {
    scenario: opts.scenario,
    sites,
    ...base,
    seeds,
    burst: opts.burst,
    latency: opts.latency,
  };
  const md = report(runs, { date, machine, command, settings });
  console.log('\n' + md);
  await mkdir(join(outBase, '..'), { recursive: true });
  await writeFile(
    `${outBase}.json`,
    JSON.stringify({ date, machine, command, settings, runs }, null, 2) + '\n',
  );
  await writeFile(`${outBase}.md`, md + '\n');
  console.log(`written to ${outBase}.json and ${outBase}.md`);
  if (runs.some((r) => !r.sameModel)) {
    throw new Error('the distributed model differs from the embedded one (see "same model")');
  }
}

async function oneRun(
  stack: Stack,
  wan: SimulatedWan,
  institutions: { name: string }[],
  settings: FederationSettings,
  rate: string,
  embedded: EmbeddedRun,
): Promise<SiteRun> {
  const sampler = new LinkSampler(() => wan.sites.map((s) => wan.counters(s.index))).start();
  const startedAt = Date.now();
  let mark = { at: startedAt, links: sampler.latest() };
  const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
  let distributed;
  try {
    distributed = await runDistributed(stack, institutions, settings, (round) => {
      // Progress from the previous round's end (round 1: from the start, set-up included).
      const now = { at: Date.now(), links: sampler.latest() };
      const up = median(now.links.map((l, i) => l.up - mark.links[i].up));
      const down = median(now.links.map((l, i) => l.down - mark.links[i].down));
      console.log(
        `  round ${round}/${settings.rounds}: ${((now.at - mark.at) / 1000).toFixed(1)} s, ` +
          `per site ${mb(up)} MB up, ${mb(down)} MB down`,
      );
      mark = now;
    });
  } finally {
    sampler.stop();
  }
  const rounds = await completedRounds(stack, distributed.federationId);
  const perRound = rounds.map((r) => roundTraffic(r, institutions, sampler));
  const weights = await finalWeights(stack, distributed.federationId, settings.rounds);
  const steady = perRound.slice(1).flatMap((r) => Object.values(r.sites));
  const all = perRound.flatMap((r) => Object.values(r.sites));
  const pick = (xs: Traffic[], f: (t: Traffic) => number) => median(xs.map(f));
  const sum = (f: (t: Traffic) => number) => all.reduce((n, t) => n + f(t), 0);
  const perSiteRound: Traffic = {
    upLink: pick(steady, (t) => t.upLink),
    downLink: pick(steady, (t) => t.downLink),
    upPlatform: pick(steady, (t) => t.upPlatform),
    downPlatform: pick(steady, (t) => t.downPlatform),
  };
  const setup = sampler.between(startedAt, rounds[0]?.startedAt.getTime() ?? startedAt);
  const result: SiteRun = {
    rate,
    seed: settings.seed,
    embeddedSeconds: embedded.seconds,
    distributedSeconds: distributed.seconds,
    ratio: distributed.seconds / embedded.seconds,
    roundMsMedian: median(rounds.map((r) => r.timings.totalMs)),
    computeMsMedian: median(rounds.map((r) => slowest(r, (i) => i.trainMs + i.maskMs))),
    transferMsMedian: median(rounds.map((r) => slowest(r, (i) => i.transferMs))),
    linkMsPerRound: (((perSiteRound.upLink + perSiteRound.downLink) * 8) / parseRate(rate)) * 1000,
    perSiteRound,
    total: {
      upLink: sum((t) => t.upLink),
      downLink: sum((t) => t.downLink),
      upPlatform: sum((t) => t.upPlatform),
      downPlatform: sum((t) => t.downPlatform),
    },
    setupPerSite: { upLink: median(setup.map((l) => l.up)), downLink: median(setup.map((l) => l.down)) },
    sameModel: sameModel(embedded.trained, weights),
    rounds: perRound,
  };
  console.log(
    `  ${result.distributedSeconds.toFixed(1)} s (embedded ${result.embeddedSeconds.toFixed(1)} s, ` +
      `${result.ratio.toFixed(2)}x); round ${result.roundMsMedian.toFixed(0)} ms; ` +
      `same model: ${result.sameModel ? 'yes' : 'NO'}`,
  );
  return result;
}

function slowest(
  record: RoundRecord,
  f: (timing: RoundRecord['timings']['institutions'][string]) => number,
): number {
  return Math.max(...Object.values(record.timings.institutions).map(f));
}

/** One round's bytes per site: its link's counters over the round, and the platform's figures. */
function roundTraffic(
  record: RoundRecord,
  institutions: { name: string }[],
  sampler: LinkSampler,
): SiteRun['rounds'][number] {
  const end = record.finishedAt ?? new Date(record.startedAt.getTime() + record.timings.totalMs);
  const links = sampler.between(record.startedAt.getTime(), end.getTime());
  // The platform records the uploads as one sum; every masked update has the same size.
  const upload = record.survivors.length > 0 ? record.bytesIn / record.survivors.length : 0;
  const sites: Record<string, Traffic> = {};
  institutions.forEach((inst, i) => {
    const reported = record.timings.institutions[inst.name];
    sites[inst.name] = {
      upLink: links[i].up,
      downLink: links[i].down,
      upPlatform: reported ? upload : 0,
      downPlatform: reported?.modelBytesIn ?? 0,
    };
  });
  return { round: record.number, totalMs: record.timings.totalMs, sites };
}

runBenchMain('bench:sites', main);
