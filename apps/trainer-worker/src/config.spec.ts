import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalCa } from '../../../scripts/local-stack/local-ca';
import { ConfigError, loadWorkerConfig } from './config';

const base = {
  INSTITUTION: 'hospital-a',
  WORKER_REDIS_URL: 'rediss://worker-hospital-a:pw-0123456789@redis.example.org:6380',
  WORKER_STATE_DIR: '/var/lib/scprivacy',
  WORKER_KEY_PASSPHRASE: 'passphrase-of-hospital-a-0123',
};

describe('trainer worker configuration: WORKER_REDIS_CA_FILE', () => {
  let dir: string;
  let caFile: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'scp-worker-config-'));
    caFile = join(dir, 'redis-ca.pem');
    await writeFile(caFile, createLocalCa().certificatePem);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const problem = (env: Record<string, string>) => {
    try {
      loadWorkerConfig(env);
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return (e as Error).message;
    }
    throw new Error('no ConfigError');
  };

  it('is optional: rediss:// then trusts the system roots (and NODE_EXTRA_CA_CERTS) only', () => {
    expect(loadWorkerConfig(base).redisCa).toBeUndefined();
  });

  it('is read at start-up: the file and its certificates', () => {
    const config = loadWorkerConfig({ ...base, WORKER_REDIS_CA_FILE: caFile });
    expect(config.redisCa?.file).toBe(caFile);
    expect(config.redisCa?.certificates).toEqual([expect.stringMatching(/^-----BEGIN CERTIFICATE-----/)]);
  });

  it('names the variable and the file when it cannot be used', async () => {
    expect(problem({ ...base, WORKER_REDIS_CA_FILE: join(dir, 'missing.pem') })).toBe(
      `WORKER_REDIS_CA_FILE is not a usable CA bundle: cannot read ${join(dir, 'missing.pem')} (ENOENT)`,
    );
    const notPem = join(dir, 'not.pem');
    await writeFile(notPem, 'hello\n');
    expect(problem({ ...base, WORKER_REDIS_CA_FILE: notPem })).toMatch(
      /^WORKER_REDIS_CA_FILE is not a usable CA bundle: .*not.pem holds no PEM certificate/,
    );
  });

  it('is refused with a plain redis:// URL, which would send the queue password in clear', () => {
    expect(
      problem({
        ...base,
        WORKER_REDIS_URL: 'redis://worker-hospital-a:pw@redis:6379',
        WORKER_REDIS_CA_FILE: caFile,
      }),
    ).toMatch(/WORKER_REDIS_CA_FILE is set but WORKER_REDIS_URL is a plain redis:\/\/ URL: use rediss:\/\//);
  });
});
