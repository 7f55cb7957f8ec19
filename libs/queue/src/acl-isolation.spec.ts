/**
 * Against the real Redis: an institution's queue credentials reach its own queue and nothing else.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUE_PREFIX, institutionQueueName, queueKeyPrefix } from '@fl/platform';
import { adminConnection, institutionUrl, TestInstitutions, type TestInstitution } from './testing/redis';
import { redisConnection } from './connection';
import { provisionInstitutionQueueUser, revokeInstitutionQueueUser } from './acl';
import { startInstitutionWorker } from './worker';
import { InstitutionQueues } from './institution-queues';

const NOPERM = /NOPERM/;
// Inside a script Redis words the refusal differently.
const SCRIPT_DENIED = /NOPERM|can't access/;

const admin = adminConnection();
const institutions = new TestInstitutions(admin);
const queues: Queue[] = [];
let a: TestInstitution;
let b: TestInstitution;
let asA: Redis;
let bJobId: string;

/** A BullMQ Queue on `institution`'s queue, connected with `connection`. */
function queueOf(institution: string, connection: Redis): Queue {
  const queue = new Queue(institutionQueueName(institution), { connection, prefix: QUEUE_PREFIX });
  queue.on('error', () => undefined); // denied calls are asserted where they are made
  queues.push(queue);
  return queue;
}

const key = (institution: string, suffix: string) =>
  `${queueKeyPrefix(institutionQueueName(institution))}${suffix}`;

beforeAll(async () => {
  a = await institutions.create('iso-a');
  b = await institutions.create('iso-b');
  asA = a.connect();
  const job = await queueOf(b.institution, admin).add('describe', { secret: 'b-data' }, { jobId: 'b-job-1' });
  bJobId = job.id!;
});

afterAll(async () => {
  await Promise.all(queues.map((q) => q.close()));
  await institutions.cleanup();
  admin.disconnect();
});

describe("with institution A's queue credentials", () => {
  it("cannot read B's jobs", async () => {
    const bQueue = queueOf(b.institution, asA);
    await expect(bQueue.getJob(bJobId)).rejects.toThrow(NOPERM);
    await expect(bQueue.getJobs(['waiting'])).rejects.toThrow(NOPERM);
    await expect(bQueue.getJobCounts()).rejects.toThrow(NOPERM);
    await expect(asA.get(key(b.institution, 'id'))).rejects.toThrow(NOPERM);
    await expect(asA.hgetall(key(b.institution, bJobId))).rejects.toThrow(NOPERM);
    await expect(asA.lrange(key(b.institution, 'wait'), 0, -1)).rejects.toThrow(NOPERM);
  });

  it("cannot reach B's keys through a Lua script, declared or not", async () => {
    await expect(
      asA.eval("return redis.call('HGETALL', KEYS[1])", 1, key(b.institution, bJobId)),
    ).rejects.toThrow(SCRIPT_DENIED);
    await expect(
      asA.eval(`return redis.call('HGETALL', '${key(b.institution, bJobId)}')`, 0),
    ).rejects.toThrow(SCRIPT_DENIED);
    // A key of A's queue declared, one of B's used.
    await expect(
      asA.eval(`return redis.call('DEL', '${key(b.institution, 'wait')}')`, 1, key(a.institution, 'x')),
    ).rejects.toThrow(SCRIPT_DENIED);
  });

  it("cannot add, remove or obliterate B's jobs", async () => {
    const bQueue = queueOf(b.institution, asA);
    await expect(bQueue.add('describe', { forged: true }, { jobId: 'forged' })).rejects.toThrow(NOPERM);
    await expect(bQueue.remove(bJobId)).rejects.toThrow(NOPERM);
    await expect(bQueue.obliterate({ force: true })).rejects.toThrow(NOPERM);
    await expect(bQueue.drain()).rejects.toThrow(NOPERM);
    await expect(asA.del(key(b.institution, bJobId))).rejects.toThrow(NOPERM);
    // B's job is untouched, and nothing was added.
    const bAdmin = queueOf(b.institution, admin);
    expect(await bAdmin.getJobState(bJobId)).toBe('waiting');
    expect((await bAdmin.getJob(bJobId))?.data).toEqual({ secret: 'b-data' });
    expect(await bAdmin.getJobState('forged')).toBe('unknown');
  });

  it("cannot run a worker on B's queue", async () => {
    const errors: Error[] = [];
    let ran = false;
    const worker = startInstitutionWorker({
      institution: b.institution,
      connection: a.connect(),
      handlers: {
        describe: async () => {
          ran = true;
          return { genes: [], nCells: 0, types: [], typeCounts: [], backend: 'none' };
        },
      },
      lockDurationMs: 1000,
      onError: (error) => errors.push(error),
    });
    const until = Date.now() + 10_000;
    while (errors.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    await worker.close();
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0].message).toMatch(NOPERM);
    expect(ran).toBe(false);
    expect(await queueOf(b.institution, admin).getJobState(bJobId)).toBe('waiting');
  });

  it('cannot administer Redis or list the keyspace', async () => {
    await expect(asA.call('ACL', 'SETUSER', a.username, '~*')).rejects.toThrow(NOPERM);
    await expect(asA.call('ACL', 'LIST')).rejects.toThrow(NOPERM);
    await expect(asA.call('ACL', 'WHOAMI')).rejects.toThrow(NOPERM);
    await expect(asA.flushall()).rejects.toThrow(NOPERM);
    await expect(asA.flushdb()).rejects.toThrow(NOPERM);
    await expect(asA.call('CONFIG', 'GET', 'requirepass')).rejects.toThrow(NOPERM);
    await expect(asA.keys('*')).rejects.toThrow(NOPERM);
    await expect(asA.scan('0')).rejects.toThrow(NOPERM);
    await expect(asA.call('CLIENT', 'LIST')).rejects.toThrow(NOPERM);
    await expect(asA.call('SCRIPT', 'FLUSH')).rejects.toThrow(NOPERM);
    await expect(asA.select(1)).rejects.toThrow(NOPERM);
    await expect(asA.publish('anything', 'x')).rejects.toThrow(NOPERM);
    await expect(asA.get('some-other-key')).rejects.toThrow(NOPERM);
  });

  it('can do all of that on its own queue', async () => {
    const aQueue = queueOf(a.institution, asA);
    const added = await aQueue.add('describe', { mine: true }, { jobId: 'a-job-1' });
    await aQueue.add('describe', { mine: 2 }, { jobId: 'a-job-2' });
    expect(added.id).toBe('a-job-1');
    expect((await aQueue.getJob('a-job-1'))?.data).toEqual({ mine: true });
    expect((await aQueue.getJobs(['waiting'])).map((j) => j.id).sort()).toEqual(['a-job-1', 'a-job-2']);
    expect(await asA.get(key(a.institution, 'id'))).not.toBeUndefined();
    expect(await asA.hgetall(key(a.institution, 'a-job-1'))).toMatchObject({ name: 'describe' });
    expect(await aQueue.remove('a-job-1')).toBe(1);
    expect(await aQueue.getJobState('a-job-1')).toBe('unknown');

    // A worker under A's credentials runs A's job; the aggregator (admin) sees the result.
    const aggregator = new InstitutionQueues(admin, { pollIntervalMs: 200 });
    const worker = startInstitutionWorker({
      institution: a.institution,
      connection: a.connect(),
      handlers: {
        describe: async () => ({ genes: ['g'], nCells: 1, types: ['t'], typeCounts: [1], backend: 'x' }),
      },
      lockDurationMs: 2000,
    });
    try {
      const outcome = await aggregator.waitForResult<'describe'>(a.institution, 'a-job-2', {
        deadlineMs: Date.now() + 15_000,
      });
      expect(outcome).toEqual({
        status: 'completed',
        result: { genes: ['g'], nCells: 1, types: ['t'], typeCounts: [1], backend: 'x' },
      });
    } finally {
      await worker.close();
      await aggregator.close();
    }

    await aQueue.obliterate({ force: true });
    expect(await aQueue.getJobState('a-job-2')).toBe('unknown');
  });
});

describe('provisioning', () => {
  it('rotates the password, and revoking disconnects the user', async () => {
    const c = await institutions.create('iso-c');
    const before = c.connect();
    expect(await before.exists(key(c.institution, 'id'))).toBe(0);

    const newPassword = 'rotated-password-0123456789';
    await provisionInstitutionQueueUser(admin, c.institution, newPassword);
    const withOld = redisConnection(c.url);
    withOld.on('error', () => undefined);
    await expect(withOld.exists(key(c.institution, 'id'))).rejects.toThrow(/NOAUTH|WRONGPASS/);
    withOld.disconnect();
    const withNew = redisConnection(institutionUrl(c.username, newPassword));
    try {
      expect(await withNew.exists(key(c.institution, 'id'))).toBe(0);
      expect(await revokeInstitutionQueueUser(admin, c.institution)).toBe(true);
      expect(await revokeInstitutionQueueUser(admin, c.institution)).toBe(false);
      // Redis closed the revoked user's connections; they cannot log in again.
      const clients = String(await admin.call('CLIENT', 'LIST'));
      expect(clients).toContain('user=default');
      expect(clients).not.toContain(`user=${c.username} `);
    } finally {
      withNew.disconnect();
    }
  });

  it('refuses a short password', async () => {
    await expect(provisionInstitutionQueueUser(admin, 'short-pw', 'x')).rejects.toThrow(/at least 16/);
  });
});
