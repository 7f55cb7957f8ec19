import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, startService, type RedisInstance } from '../../scripts/local-stack/processes';
import { tempDir } from './e2e-helpers';

/** The built trainer worker (dist/) against a private Redis, with bad input it must refuse clearly. */
describe('start-up of the built services', () => {
  let dir: string;
  let redis: RedisInstance;

  beforeAll(async () => {
    dir = await tempDir('worker');
    redis = await startRedis(join(dir, 'redis'));
  });
  afterAll(async () => {
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const env = (overrides: Record<string, string>) => ({
    INSTITUTION: 'hospital-a',
    WORKER_REDIS_URL: `redis://worker-hospital-a:not-the-password-123@127.0.0.1:${redis.port}`,
    WORKER_STATE_DIR: join(dir, 'state'),
    WORKER_KEY_PASSPHRASE: 'passphrase-of-hospital-a-0123',
    SCPRIVACY_BACKEND: 'cpu',
    ...overrides,
  });

  it('stops with exit code 3 and a plain message when Redis refuses its credentials', async () => {
    const worker = startService('worker-refused', 'dist/trainer-worker/main.js', env({}), join(dir, 'logs'));
    const code = await new Promise<number | null>((resolve) => worker.child.once('exit', resolve));
    expect(code).toBe(3);
    expect(worker.output()).toMatch(
      /Redis refused hospital-a's queue credentials .*revoked or its password changed/,
    );
    expect(worker.output()).not.toMatch(/\n\s+at /); // no stack trace
  }, 60_000);

  it('names a missing or bad variable and exits with code 2', async () => {
    const worker = startService(
      'worker-config',
      'dist/trainer-worker/main.js',
      env({ INSTITUTION: 'Hospital A', WORKER_KEY_PASSPHRASE: 'x' }),
      join(dir, 'logs'),
    );
    const code = await new Promise<number | null>((resolve) => worker.child.once('exit', resolve));
    expect(code).toBe(2);
    expect(worker.output()).toMatch(
      /INSTITUTION="Hospital A": expected lower-case letters, digits and dashes/,
    );
  }, 60_000);

  it('names the missing tensor package of SCPRIVACY_BACKEND and exits with code 2, without a stack trace', async () => {
    // @tensorflow/tfjs-node is an optional native package, not installed here (nor in CI).
    const worker = startService(
      'worker-backend',
      'dist/trainer-worker/main.js',
      env({ SCPRIVACY_BACKEND: 'tensorflow', WORKER_STATE_DIR: join(dir, 'state-backend') }),
      join(dir, 'logs'),
    );
    const code = await new Promise<number | null>((resolve) => worker.child.once('exit', resolve));
    expect(code).toBe(2);
    expect(worker.output()).toMatch(/SCPRIVACY_BACKEND=tensorflow: .*npm install @tensorflow\/tfjs-node/);
    expect(worker.output()).not.toMatch(/\n\s+at /);
  }, 60_000);

  it('refuses a state directory whose key was made with another passphrase, without a stack trace', async () => {
    const first = startService('worker-init', 'dist/trainer-worker/main.js', env({}), join(dir, 'logs'), [
      '--init',
    ]);
    expect(await new Promise((resolve) => first.child.once('exit', resolve))).toBe(0);
    const worker = startService(
      'worker-passphrase',
      'dist/trainer-worker/main.js',
      env({ WORKER_KEY_PASSPHRASE: 'another-passphrase-0123456' }),
      join(dir, 'logs'),
    );
    expect(await new Promise((resolve) => worker.child.once('exit', resolve))).toBe(1);
    expect(worker.output()).toMatch(/cannot open the institution's key in .*WORKER_KEY_PASSPHRASE/);
    expect(worker.output()).not.toMatch(/\n\s+at /);
  }, 60_000);

  it('the aggregator names the object store it cannot reach, without a stack trace', async () => {
    const aggregator = startService(
      'aggregator-no-s3',
      'dist/aggregator/main.js',
      {
        DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/postgres',
        REDIS_URL: redis.url,
        S3_ENDPOINT: '127.0.0.1',
        S3_PORT: '1',
        S3_USE_SSL: 'false',
        S3_ACCESS_KEY: 'access',
        S3_SECRET_KEY: 'secret-key',
        S3_BUCKET: 'scprivacy',
      },
      join(dir, 'logs'),
    );
    expect(await new Promise((resolve) => aggregator.child.once('exit', resolve))).toBe(1);
    expect(aggregator.output()).toMatch(
      /cannot reach the object store at 127.0.0.1:1 \(S3_ENDPOINT, S3_PORT\)/,
    );
    expect(aggregator.output()).not.toMatch(/\n\s+at /);
  }, 60_000);
});
