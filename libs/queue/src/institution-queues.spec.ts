/**
 * Against the real Redis: the aggregator (admin connection) enqueues and waits; a worker under
 * the institution's ACL user processes.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUE_PREFIX, institutionJobId, institutionQueueName, type DescribeResult } from '@fl/platform';
import { adminConnection, TestInstitutions, type TestInstitution } from './testing/redis';
import { InstitutionQueues } from './institution-queues';
import { startInstitutionWorker, type InstitutionWorker } from './worker';

const admin = adminConnection();
const institutions = new TestInstitutions(admin);
const aggregatorName = `aggregator-${process.pid}-${Date.now()}`;
const aggregatorConnection = adminConnection(aggregatorName);
const aggregator = new InstitutionQueues(aggregatorConnection, { pollIntervalMs: 250 });
const workers: InstitutionWorker[] = [];
let a: TestInstitution;

const spec = {
  federationId: 'fed-1',
  index: 0,
  participants: ['x'],
  seed: 1,
  learningRate: 0.01,
  localSteps: 1,
  hiddenSize: 4,
  embeddingSize: 2,
  allowSingletonTypes: false,
  datasets: [],
};
const described = (nCells: number): DescribeResult => ({
  genes: ['CD3E'],
  nCells,
  types: ['T'],
  typeCounts: [nCells],
  backend: 'cpu',
});
const deadline = (ms: number) => ({ deadlineMs: Date.now() + ms });

function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { opened, open };
}

async function until(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function worker(connection: Redis, handlers: Parameters<typeof startInstitutionWorker>[0]['handlers']) {
  const started = startInstitutionWorker({
    institution: a.institution,
    connection,
    handlers,
    lockDurationMs: 5000,
  });
  workers.push(started);
  return started;
}

beforeAll(async () => {
  a = await institutions.create('e2e');
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close()));
});

afterAll(async () => {
  await aggregator.close();
  // Nothing the worker or queue did under A's user was refused (not even swallowed refusals).
  const log = (await admin.call('ACL', 'LOG', '128')) as unknown[];
  expect(JSON.stringify(log)).not.toContain(a.username);
  aggregatorConnection.disconnect();
  await institutions.cleanup();
  admin.disconnect();
});

describe('InstitutionQueues with an institution worker', () => {
  it('runs a job end to end under the institution ACL user', async () => {
    const seen: unknown[] = [];
    worker(a.connect(), {
      describe: async (data, job) => {
        seen.push({ data, name: job.name });
        return described(42);
      },
    });
    const jobId = institutionJobId('fed-1', 'describe', a.institution);
    const job = await aggregator.enqueue(a.institution, 'describe', { spec }, { jobId });
    expect(job.id).toBe(jobId);
    expect(await aggregator.waitForResult<'describe'>(a.institution, jobId, deadline(15_000))).toEqual({
      status: 'completed',
      result: described(42),
    });
    expect(seen).toEqual([{ data: { spec }, name: 'describe' }]);
  });

  it('enqueues idempotently by job id', async () => {
    let runs = 0;
    const jobId = institutionJobId('fed-idem', 'describe', a.institution);
    const first = await aggregator.enqueue(a.institution, 'describe', { spec }, { jobId });
    const again = await aggregator.enqueue(
      a.institution,
      'describe',
      { spec: { ...spec, seed: 999 } },
      { jobId, attempts: 3 },
    );
    expect(again.id).toBe(first.id);
    expect(again.data.spec.seed).toBe(1); // the stored job, not the second call's data
    expect(again.opts.attempts).toBe(1);

    worker(a.connect(), {
      describe: async () => {
        runs += 1;
        return described(runs);
      },
    });
    expect(await aggregator.waitForResult(a.institution, jobId, deadline(15_000))).toMatchObject({
      status: 'completed',
    });
    // A restarted aggregator re-adding a finished job gets it back; it does not run again.
    const afterDone = await aggregator.enqueue(a.institution, 'describe', { spec }, { jobId });
    expect(afterDone.returnvalue).toEqual(described(1));
    expect(await aggregator.waitForResult(a.institution, jobId, deadline(5000))).toEqual({
      status: 'completed',
      result: described(1),
    });
    expect(runs).toBe(1);
  });

  it('answers at once for a job that finished before the wait', async () => {
    worker(a.connect(), { describe: async () => described(7) });
    const jobId = institutionJobId('fed-early', 'describe', a.institution);
    await aggregator.enqueue(a.institution, 'describe', { spec }, { jobId });
    const queue = new Queue(institutionQueueName(a.institution), { connection: admin, prefix: QUEUE_PREFIX });
    try {
      await until('the job completed', async () => (await queue.getJobState(jobId)) === 'completed');
    } finally {
      await queue.close();
    }
    const slowPolls = new InstitutionQueues(admin, { pollIntervalMs: 60_000 });
    try {
      const started = Date.now();
      expect(await slowPolls.waitForResult(a.institution, jobId, deadline(30_000))).toEqual({
        status: 'completed',
        result: described(7),
      });
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await slowPolls.close();
    }
  });

  it('is woken by queue events, not only by polling', async () => {
    const release = gate();
    worker(a.connect(), {
      describe: async () => {
        await release.opened;
        return described(3);
      },
    });
    const slowPolls = new InstitutionQueues(admin, { pollIntervalMs: 60_000 });
    try {
      const jobId = institutionJobId('fed-events', 'describe', a.institution);
      await slowPolls.enqueue(a.institution, 'describe', { spec }, { jobId });
      const waiting = slowPolls.waitForResult(a.institution, jobId, deadline(30_000));
      await new Promise((r) => setTimeout(r, 1000)); // QueueEvents is blocked in XREAD by now
      const released = Date.now();
      release.open();
      expect(await waiting).toEqual({ status: 'completed', result: described(3) });
      expect(Date.now() - released).toBeLessThan(5000);
    } finally {
      await slowPolls.close();
    }
  });

  it('reports a timeout at the deadline', async () => {
    // No worker: the job stays waiting.
    const jobId = institutionJobId('fed-timeout', 'describe', a.institution);
    await aggregator.enqueue(a.institution, 'describe', { spec }, { jobId });
    const started = Date.now();
    expect(await aggregator.waitForResult(a.institution, jobId, deadline(600))).toEqual({
      status: 'timeout',
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(590);
    expect(Date.now() - started).toBeLessThan(3000);
    await expect(aggregator.waitForResult(a.institution, jobId, { deadlineMs: 600 })).rejects.toThrow(
      /absolute time/,
    );
    expect(await aggregator.remove(a.institution, jobId)).toBe(true);
  });

  it('reports failures: a throwing handler (after its attempts), and an unknown job name', async () => {
    let calls = 0;
    worker(a.connect(), {
      describe: async () => {
        calls += 1;
        throw new Error(`no dataset (call ${calls})`);
      },
    });
    const failing = institutionJobId('fed-fail', 'describe', a.institution);
    await aggregator.enqueue(a.institution, 'describe', { spec }, { jobId: failing });
    expect(await aggregator.waitForResult(a.institution, failing, deadline(15_000))).toEqual({
      status: 'failed',
      reason: 'no dataset (call 1)',
    });

    const unknown = institutionJobId('fed-fail', 'train', a.institution);
    // attempts: an unknown name is not retried anyway.
    await aggregator.enqueue(a.institution, 'train', {} as never, { jobId: unknown, attempts: 5 });
    const outcome = await aggregator.waitForResult(a.institution, unknown, deadline(15_000));
    expect(outcome).toEqual({
      status: 'failed',
      reason: `no handler for job "train" in the worker of ${institutionQueueName(a.institution)} (handles: describe)`,
    });
    expect(calls).toBe(1);
  });

  it('removes jobs (not a running one), and reports a removed job as failed', async () => {
    const jobId = institutionJobId('fed-remove', 'describe', a.institution);
    await aggregator.enqueue(a.institution, 'describe', { spec }, { jobId });
    expect(await aggregator.remove(a.institution, jobId)).toBe(true);
    expect(await aggregator.remove(a.institution, jobId)).toBe(true); // idempotent
    expect(await aggregator.waitForResult(a.institution, jobId, deadline(5000))).toEqual({
      status: 'failed',
      reason: `job ${jobId} not found in queue ${institutionQueueName(a.institution)}`,
    });
  });

  it('close() lets the current job finish, which cannot be removed meanwhile', async () => {
    const release = gate();
    const started = worker(a.connect(), {
      describe: async () => {
        await release.opened;
        return described(5);
      },
    });
    const jobId = institutionJobId('fed-close', 'describe', a.institution);
    await aggregator.enqueue(a.institution, 'describe', { spec }, { jobId });
    const queue = new Queue(institutionQueueName(a.institution), { connection: admin, prefix: QUEUE_PREFIX });
    try {
      await until('the job is active', async () => (await queue.getJobState(jobId)) === 'active');
      expect(await aggregator.remove(a.institution, jobId)).toBe(false); // locked by the worker
      let closed = false;
      const closing = started.close().then(() => (closed = true));
      await new Promise((r) => setTimeout(r, 300));
      expect(closed).toBe(false);
      release.open();
      await closing;
      expect(await queue.getJobState(jobId)).toBe('completed');
    } finally {
      await queue.close();
    }
  });

  it('survives dropped connections (as in a Redis restart) on both sides', async () => {
    const release = gate();
    let runs = 0;
    worker(a.connect(), {
      describe: async () => {
        runs += 1;
        await release.opened;
        return described(runs * 100);
      },
    });
    const jobId = institutionJobId('fed-drop', 'describe', a.institution);
    await aggregator.enqueue(a.institution, 'describe', { spec }, { jobId });
    const queue = new Queue(institutionQueueName(a.institution), { connection: admin, prefix: QUEUE_PREFIX });
    try {
      await until('the job is active', async () => (await queue.getJobState(jobId)) === 'active');
      const waiting = aggregator.waitForResult(a.institution, jobId, deadline(30_000));
      await new Promise((r) => setTimeout(r, 300));

      // Kill every connection of the worker (its ACL user) and of the aggregator (its
      // connection and the QueueEvents copy), and only those: the Redis is shared.
      const queueEventsName = `${QUEUE_PREFIX}:${Buffer.from(institutionQueueName(a.institution)).toString('base64')}`;
      const clients = String(await admin.call('CLIENT', 'LIST'))
        .split('\n')
        .map((line) =>
          Object.fromEntries(line.split(' ').map((field) => field.split('=') as [string, string])),
        )
        .filter(
          (c) => c.user === a.username || c.name === aggregatorName || c.name?.startsWith(queueEventsName),
        );
      expect(clients.filter((c) => c.user === a.username).length).toBeGreaterThanOrEqual(2);
      expect(clients.filter((c) => c.name === aggregatorName).length).toBeGreaterThanOrEqual(1);
      for (const c of clients) await admin.call('CLIENT', 'KILL', 'ID', c.id);

      await new Promise((r) => setTimeout(r, 500));
      release.open();
      expect(await waiting).toEqual({ status: 'completed', result: described(100) });

      // The worker still takes new jobs after reconnecting.
      const next = institutionJobId('fed-drop', 'describe', a.institution, 1);
      await aggregator.enqueue(a.institution, 'describe', { spec }, { jobId: next });
      expect(await aggregator.waitForResult(a.institution, next, deadline(20_000))).toEqual({
        status: 'completed',
        result: described(200),
      });
    } finally {
      await queue.close();
    }
  });
});
