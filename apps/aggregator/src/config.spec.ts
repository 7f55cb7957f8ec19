import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalCa } from '../../../scripts/local-stack/local-ca';
import { ConfigError, loadAggregatorConfig } from './config';

const good = {
  DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/scp',
  REDIS_URL: 'redis://127.0.0.1:6379',
  S3_ENDPOINT: '127.0.0.1',
  S3_PORT: '9000',
  S3_USE_SSL: 'false',
  S3_ACCESS_KEY: 'access',
  S3_SECRET_KEY: 'secret-value',
  S3_BUCKET: 'scprivacy',
};

describe('aggregator configuration', () => {
  it('reads the shared connection settings and its own defaults', () => {
    const c = loadAggregatorConfig(good);
    expect(c.s3).toEqual({
      endPoint: '127.0.0.1',
      port: 9000,
      useSSL: false,
      accessKey: 'access',
      secretKey: 'secret-value',
      bucket: 'scprivacy',
    });
    expect(c.presignTtlSeconds).toBe(3600);
    expect(c.healthPort).toBeUndefined();
  });

  it('names every missing or malformed variable, without echoing secrets', () => {
    const bad = { ...good, DATABASE_URL: 'mysql://x', S3_SECRET_KEY: '', PRESIGN_TTL_SECONDS: '5' };
    let error: unknown;
    try {
      loadAggregatorConfig(bad);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/DATABASE_URL must be a URL such as postgresql:/);
    expect(message).toMatch(/S3_SECRET_KEY is required/);
    expect(message).toMatch(/PRESIGN_TTL_SECONDS must be seconds between 60 and 604800/);
    expect(message).not.toContain('secret-value');
  });

  it('accepts the same S3_USE_SSL spellings as the api', () => {
    expect(loadAggregatorConfig({ ...good, S3_USE_SSL: 'yes' }).s3.useSSL).toBe(true);
    expect(loadAggregatorConfig({ ...good, S3_USE_SSL: 'off' }).s3.useSSL).toBe(false);
  });

  it('S3_PUBLIC_ENDPOINT: the address presigned URLs are signed for, https:// (or http:// on loopback)', () => {
    expect(loadAggregatorConfig(good).s3).not.toHaveProperty('publicEndpoint');
    expect(
      loadAggregatorConfig({ ...good, S3_PUBLIC_ENDPOINT: 'https://s3.example.org:9443' }).s3.publicEndpoint,
    ).toBe('https://s3.example.org:9443');
    expect(() => loadAggregatorConfig({ ...good, S3_PUBLIC_ENDPOINT: 'http://s3.example.org' })).toThrow(
      /S3_PUBLIC_ENDPOINT "http:\/\/s3.example.org": plain http:\/\/ is only allowed for a loopback host/,
    );
    expect(() => loadAggregatorConfig({ ...good, S3_PUBLIC_ENDPOINT: 's3.example.org' })).toThrow(
      /S3_PUBLIC_ENDPOINT "s3.example.org" is not a URL: expected https:\/\/host\[:port\]/,
    );
  });

  describe('REDIS_CA_FILE', () => {
    let dir: string;
    let caFile: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'scp-aggregator-config-'));
      caFile = join(dir, 'redis-ca.pem');
      await writeFile(caFile, createLocalCa().certificatePem);
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));

    it('reads the CA certificates for a rediss:// REDIS_URL', () => {
      const c = loadAggregatorConfig({
        ...good,
        REDIS_URL: 'rediss://redis.example.org:6380',
        REDIS_CA_FILE: caFile,
      });
      expect(c.redisCa).toHaveLength(1);
      expect(c.redisCa![0]).toMatch(/^-----BEGIN CERTIFICATE-----/);
      expect(loadAggregatorConfig(good).redisCa).toBeUndefined();
    });

    it('names the variable and the file it cannot use, with the other problems', () => {
      expect(() =>
        loadAggregatorConfig({ ...good, REDIS_CA_FILE: join(dir, 'nope.pem'), S3_PORT: 'x' }),
      ).toThrow(
        new RegExp(
          `REDIS_CA_FILE is not a usable CA bundle: cannot read ${join(dir, 'nope.pem')} \\(ENOENT\\).*S3_PORT`,
        ),
      );
    });

    it('refuses a CA for a plain redis:// URL (it would be ignored, the passwords sent in clear)', () => {
      expect(() => loadAggregatorConfig({ ...good, REDIS_CA_FILE: caFile })).toThrow(
        /REDIS_CA_FILE is set but REDIS_URL is a plain redis:\/\/ URL; use rediss:\/\//,
      );
    });
  });
});
