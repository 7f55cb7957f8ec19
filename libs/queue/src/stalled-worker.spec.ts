/**
 * Against the real Redis: a worker killed in the middle of a job (SIGKILL, so no clean-up) leaves
 * the job locked; once the lock expires the next worker finds it stalled, puts it back and runs it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { QUEUE_PREFIX, institutionJobId, institutionQueueName } from '@fl/platform';
import { adminConnection, TestInstitutions } from './testing/redis';
import { InstitutionQueues } from './institution-queues';
import { startInstitutionWorker, type InstitutionWorker } from './worker';

const LOCK_MS = 1000;
const admin = adminConnection();
const institutions = new TestInstitutions(admin);
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await institutions.cleanup();
  admin.disconnect();
});

/** Resolves with the child's first stdout line matching `pattern`. */
function lineMatching(child: ChildProcess, pattern: RegExp, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(
      () => reject(new Error(`child printed no ${pattern} in ${ms} ms: ${buffered}`)),
      ms,
    );
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const line = buffered.split('\n').find((l) => pattern.test(l));
      if (line) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    child.once('exit', (code, signal) => reject(new Error(`child exited (${code ?? signal}): ${buffered}`)));
  });
}

it('retries the job of a worker killed mid-job on the next worker', async () => {
  const a = await institutions.create('stall');
  const queueName = institutionQueueName(a.institution);
  const aggregator = new InstitutionQueues(admin, { pollIntervalMs: 200 });
  const queue = new Queue(queueName, { connection: admin, prefix: QUEUE_PREFIX });
  let next: InstitutionWorker | undefined;
  try {
    const jobId = institutionJobId('fed-stall', 'describe', a.institution);
    await aggregator.enqueue(a.institution, 'describe', { spec: { seed: 1 } as never }, { jobId });

    const child = spawn(
      process.execPath,
      [fileURLToPath(new URL('./testing/hanging-worker.mjs', import.meta.url))],
      {
        env: {
          ...process.env,
          REDIS_URL: a.url,
          QUEUE: queueName,
          PREFIX: QUEUE_PREFIX,
          LOCK_MS: String(LOCK_MS),
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    children.push(child);
    expect(await lineMatching(child, /^started /, 20_000)).toBe(`started ${jobId}`);
    expect(await queue.getJobState(jobId)).toBe('active');

    const exited = new Promise((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    // The killed worker never released the job: still active, its lock still there for now.
    expect(await queue.getJobState(jobId)).toBe('active');

    let ran = 0;
    next = startInstitutionWorker({
      institution: a.institution,
      connection: a.connect(),
      handlers: {
        describe: async (data) => {
          ran += 1;
          return { genes: [], nCells: data.spec.seed, types: [], typeCounts: [], backend: 'retried' };
        },
      },
      lockDurationMs: LOCK_MS,
      stalledIntervalMs: LOCK_MS / 2,
    });
    const killedAt = Date.now();
    const outcome = await aggregator.waitForResult<'describe'>(a.institution, jobId, {
      deadlineMs: Date.now() + 20_000,
    });
    expect(outcome).toEqual({
      status: 'completed',
      result: { genes: [], nCells: 1, types: [], typeCounts: [], backend: 'retried' },
    });
    expect(ran).toBe(1);
    // Recovered within lock duration + 2 stalled intervals (plus slack for a busy machine).
    expect(Date.now() - killedAt).toBeLessThan(LOCK_MS + 2 * (LOCK_MS / 2) + 3000);
    const job = await queue.getJob(jobId);
    expect(job?.attemptsStarted).toBe(2); // the killed run and the retry
    expect(job?.attemptsMade).toBe(1); // a stall does not use up an attempt
  } finally {
    await next?.close();
    await queue.close();
    await aggregator.close();
  }
});
