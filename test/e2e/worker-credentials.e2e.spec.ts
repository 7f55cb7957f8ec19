import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, startService, type RedisInstance } from '../support/processes';
import { tempDir } from './e2e-helpers';

/** The built trainer worker (dist/) against a private Redis, with bad input it must refuse clearly. */
describe('trainer worker start-up', () => {
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
});
