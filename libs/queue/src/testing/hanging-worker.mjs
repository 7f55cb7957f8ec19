// A trainer worker that takes one job and hangs inside it, for stalled-worker.spec.ts to kill
// with SIGKILL. Plain ESM importing bullmq directly (no TypeScript loader in a child process);
// settings mirror startInstitutionWorker's (concurrency 1, short lock from LOCK_MS).
//   env: REDIS_URL (the institution's queue user), QUEUE, PREFIX, LOCK_MS
import { Worker } from 'bullmq';
import { Command, Redis } from 'ioredis';

// Institution users may not EVAL: BullMQ's scripts go by EVALSHA only (what EvalshaOnlyRedis of
// ../evalsha-only.ts does, minus its NOSCRIPT wait: the parent loaded the scripts).
class EvalshaOnly extends Redis {
  defineCommand(name, definition) {
    super.defineCommand(name, definition);
    this.scriptsSet[name].Command = Command;
  }
  duplicate(override) {
    return new EvalshaOnly({ ...this.options, ...override });
  }
}

const { REDIS_URL, QUEUE, PREFIX, LOCK_MS } = process.env;
const connection = new EvalshaOnly(REDIS_URL, { maxRetriesPerRequest: null, disableClientInfo: true });
const lockDuration = Number(LOCK_MS);
const worker = new Worker(
  QUEUE,
  async (job) => {
    process.stdout.write(`started ${job.id}\n`);
    await new Promise(() => {}); // never finishes: the parent kills us here
  },
  {
    connection,
    prefix: PREFIX,
    concurrency: 1,
    lockDuration,
    stalledInterval: lockDuration,
    maxStalledCount: 2,
  },
);
worker.on('error', (error) => process.stderr.write(`worker error: ${error.message}\n`));
worker.on('ready', () => process.stdout.write('ready\n'));
