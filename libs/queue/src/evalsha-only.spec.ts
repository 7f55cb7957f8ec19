/**
 * Against a private redis-server (its script cache is flushed and it is restarted here): a
 * worker's credentials run no Lua of their own, only the BullMQ scripts the platform loaded.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisInstance } from '../../../scripts/local-stack/processes';
import { provisionInstitutionQueueUser } from './acl';
import {
  bullmqScripts,
  keepBullmqScriptsLoaded,
  loadBullmqScripts,
  type ScriptKeeper,
} from './bullmq-scripts';
import { redisConnection } from './connection';
import { workerRedisConnection } from './evalsha-only';
import { InstitutionQueues } from './institution-queues';
import { startInstitutionWorker, type InstitutionWorker } from './worker';
import { uniqueInstitution } from './testing/redis';

const SPIN = 'while true do end';
const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');

let dir: string;
let server: RedisInstance;
let admin: Redis;
let institution: string;
let workerUrl: string;
const closers: (() => unknown)[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scp-evalsha-'));
  server = await startRedis(join(dir, 'redis'));
  admin = redisConnection(server.url, { connectionName: 'platform' });
  admin.on('error', () => undefined); // while the server restarts
  institution = uniqueInstitution('lua');
  const password = randomBytes(24).toString('hex');
  const { username } = await provisionInstitutionQueueUser(admin, institution, password);
  workerUrl = `redis://${username}:${password}@127.0.0.1:${server.port}`;
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  admin?.disconnect();
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** A plain ioredis client as the institution's user (what a hostile worker would use). */
function rawWorker(): Redis {
  const client = new Redis(workerUrl, { maxRetriesPerRequest: 0, disableClientInfo: true });
  client.on('error', () => undefined);
  closers.push(() => client.disconnect());
  return client;
}

describe("with a worker's Redis credentials", () => {
  it('no Lua of its own runs: EVAL, EVAL_RO, SCRIPT, FUNCTION and FCALL are refused (NOPERM)', async () => {
    const w = rawWorker();
    await expect(w.call('EVAL', SPIN, '0')).rejects.toThrow(/NOPERM.*'eval'/);
    await expect(w.call('EVAL_RO', SPIN, '0')).rejects.toThrow(/NOPERM/);
    await expect(w.call('SCRIPT', 'LOAD', SPIN)).rejects.toThrow(/NOPERM/);
    await expect(w.call('SCRIPT', 'FLUSH')).rejects.toThrow(/NOPERM/);
    await expect(
      w.call('FUNCTION', 'LOAD', `#!lua name=spin\nredis.register_function('spin', function() ${SPIN} end)`),
    ).rejects.toThrow(/NOPERM/);
    await expect(w.call('FCALL', 'spin', '0')).rejects.toThrow(/NOPERM/);
    // Nothing got stuck: the platform's connection answers at once.
    expect(await admin.ping()).toBe('PONG');
  });

  it('EVALSHA of a script the platform did not load fails (NOSCRIPT)', async () => {
    await loadBullmqScripts(admin);
    const w = rawWorker();
    await expect(w.call('EVALSHA', sha1(SPIN), '0')).rejects.toThrow(/NOSCRIPT/);
    await expect(w.call('EVALSHA', sha1('return redis.call("FLUSHALL")'), '0')).rejects.toThrow(/NOSCRIPT/);
  });
});

describe('a BullMQ job under the worker ACL, scripts loaded by the platform', () => {
  let keeper: ScriptKeeper;
  let queues: InstitutionQueues;
  let worker: InstitutionWorker;
  const missing: string[] = [];
  let n = 0;

  beforeAll(async () => {
    await admin.call('ACL', 'LOG', 'RESET'); // the refusals above
    keeper = keepBullmqScriptsLoaded(admin, { checkIntervalMs: 0 });
    closers.push(() => keeper.stop());
    await keeper.ready;
    queues = new InstitutionQueues(admin, { pollIntervalMs: 50 });
    closers.push(() => queues.close());
    const connection = workerRedisConnection(workerUrl, {
      maxScriptWaitMs: 200,
      onScriptMissing: (_attempt, sha) => missing.push(sha),
    });
    connection.on('error', () => undefined);
    closers.push(() => connection.disconnect());
    worker = startInstitutionWorker({
      institution,
      connection,
      handlers: { describe: async () => ({ echoed: true }) as never },
      onError: () => undefined,
    });
    closers.push(() => worker.close());
  });

  const runOne = async () => {
    const jobId = `job-${++n}`;
    await queues.enqueue(institution, 'describe', {} as never, { jobId });
    return queues.waitForResult(institution, jobId, { deadlineMs: Date.now() + 30_000 });
  };

  it('runs end to end, and the worker never tried EVAL', async () => {
    expect(await runOne()).toMatchObject({ status: 'completed', result: { echoed: true } });
    const denied = (await admin.call('ACL', 'LOG')) as unknown[][];
    const evals = denied.filter((entry) => JSON.stringify(entry).includes('"eval"'));
    expect(evals).toEqual([]);
  });

  it('waits out a flushed script cache (NOSCRIPT is transient) until the platform loads the scripts again', async () => {
    await admin.call('SCRIPT', 'FLUSH');
    missing.length = 0;
    const result = runOne();
    // The worker's next script call meets NOSCRIPT and waits; nobody reloads until it does.
    while (missing.length === 0) await new Promise((r) => setTimeout(r, 20));
    expect(bullmqScripts().map((s) => s.sha)).toContain(missing[0]);
    expect(await loadBullmqScripts(admin)).toBeGreaterThan(0);
    expect(await result).toMatchObject({ status: 'completed' });
  });

  it('keeps working after a Redis restart: the platform reloads the scripts on reconnect', async () => {
    await server.restart();
    // The ACL user survived (aclfile); the script cache did not: the keeper refills it on 'ready'.
    expect(await runOne()).toMatchObject({ status: 'completed' });
    const present = (await admin.call('SCRIPT', 'EXISTS', ...bullmqScripts().map((s) => s.sha))) as number[];
    expect(present.every((p) => p === 1)).toBe(true);
  });
});
