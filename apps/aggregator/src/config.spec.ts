import { describe, expect, it } from 'vitest';
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
});
