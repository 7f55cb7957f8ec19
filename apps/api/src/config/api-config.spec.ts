import { describe, expect, it } from 'vitest';
import { ConfigError, parseApiConfig } from './api-config';

const valid = {
  DATABASE_URL: 'postgresql://scp:secret@db:5432/scprivacy',
  REDIS_URL: 'redis://redis:6379',
  S3_ENDPOINT: 'minio',
  S3_PORT: '9000',
  S3_USE_SSL: 'false',
  S3_ACCESS_KEY: 'access',
  S3_SECRET_KEY: 'secret-key',
  S3_BUCKET: 'scprivacy',
  SCPRIVACY_MASTER_KEY: 'k'.repeat(32),
  PLATFORM_ADMIN_TOKEN: 'operator-token-0123456789',
};

function problem(env: Record<string, string | undefined>): string {
  try {
    parseApiConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe(parseApiConfig.name, () => {
  it('should take the shared REDIS_CA_FILE and S3_PUBLIC_ENDPOINT as the aggregator does', () => {
    const ca = problem({ ...valid, REDIS_URL: 'rediss://redis:6380', REDIS_CA_FILE: '/nonexistent/ca.pem' });
    expect(ca).toMatch(
      /REDIS_CA_FILE is not a usable CA bundle: cannot read \/nonexistent\/ca.pem \(ENOENT\)/,
    );
    expect(parseApiConfig({ ...valid, S3_PUBLIC_ENDPOINT: 'https://s3.example.org' }).s3.publicEndpoint).toBe(
      'https://s3.example.org',
    );
    expect(problem({ ...valid, S3_PUBLIC_ENDPOINT: 'http://s3.example.org' })).toMatch(
      /S3_PUBLIC_ENDPOINT .*only allowed for a loopback host/,
    );
  });

  it('should read a complete environment and apply the defaults', () => {
    const config = parseApiConfig(valid);
    expect(config).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      uploadMaxBytes: 512 * 1024 * 1024,
      annotationWorker: true,
      s3: { endPoint: 'minio', port: 9000, useSSL: false, bucket: 'scprivacy' },
    });
  });

  it('should accept explicit values', () => {
    const config = parseApiConfig({
      ...valid,
      API_PORT: '8080',
      API_HOST: '0.0.0.0',
      UPLOAD_MAX_BYTES: '1000',
      ANNOTATION_WORKER: 'off',
      S3_USE_SSL: 'true',
    });
    expect(config).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      uploadMaxBytes: 1000,
      annotationWorker: false,
    });
    expect(config.s3.useSSL).toBe(true);
  });

  it('should name a missing variable and what it should hold, on one line', () => {
    const message = problem({ ...valid, DATABASE_URL: undefined });
    expect(message).toMatch(/^Configuration error: DATABASE_URL is required \(a URL such as postgresql:\/\//);
    expect(message).not.toContain('\n');
  });

  it('should treat an empty variable as missing', () => {
    expect(problem({ ...valid, S3_BUCKET: '' })).toContain('S3_BUCKET is required');
  });

  it.each([
    ['S3_PORT', 'abc', 'S3_PORT must be a port number between 1 and 65535'],
    ['API_PORT', '70000', 'API_PORT must be a port number between 0 and 65535'],
    ['S3_USE_SSL', 'maybe', 'S3_USE_SSL must be true or false'],
    ['ANNOTATION_WORKER', 'sometimes', 'ANNOTATION_WORKER must be on or off'],
    ['REDIS_URL', 'http://redis', 'REDIS_URL must be a URL such as redis://host:6379'],
    ['UPLOAD_MAX_BYTES', '12MB', 'UPLOAD_MAX_BYTES must be a whole number of bytes'],
    ['S3_BUCKET', 'My_Bucket', 'S3_BUCKET must be an S3 bucket name'],
    ['SCPRIVACY_MASTER_KEY', 'short', 'SCPRIVACY_MASTER_KEY must be at least 32 characters long'],
  ])('should reject %s=%s', (name, value, expected) => {
    expect(problem({ ...valid, [name]: value })).toContain(expected);
  });

  it('should never echo a secret', () => {
    const message = problem({ ...valid, SCPRIVACY_MASTER_KEY: 'tiny-secret', PLATFORM_ADMIN_TOKEN: 'op' });
    expect(message).not.toContain('tiny-secret');
    expect(message).toContain('PLATFORM_ADMIN_TOKEN must be at least 16 characters long');
  });
});

describe('parseApiConfig upload limits', () => {
  const GIB = 1024 * 1024 * 1024;

  it('should default the read limits and the bundle limit', () => {
    const config = parseApiConfig(valid);
    expect(config.readLimits).toEqual({
      maxDecompressedBytes: 8 * GIB,
      maxCells: 2_000_000,
      maxGenes: 100_000,
      maxLineBytes: 16 * 1024 * 1024,
      maxValues: 1_000_000_000,
      maxFieldBytes: 64 * 1024,
    });
    expect(config.uploadValidation).toEqual({
      threads: 2,
      queue: 64,
      timeoutSeconds: 900,
      maxMemoryMb: 1024,
    });
    expect(config.bundleMaxBytes).toBe(GIB / 2);
  });

  it('should accept explicit limits', () => {
    const config = parseApiConfig({
      ...valid,
      UPLOAD_MAX_DECOMPRESSED_BYTES: '1000000',
      UPLOAD_MAX_CELLS: '10',
      UPLOAD_MAX_GENES: '20',
      UPLOAD_MAX_LINE_BYTES: '4096',
      UPLOAD_MAX_VALUES: '200',
      UPLOAD_MAX_FIELD_BYTES: '128',
      BUNDLE_MAX_BYTES: '2097152',
    });
    expect(config.readLimits).toEqual({
      maxDecompressedBytes: 1_000_000,
      maxCells: 10,
      maxGenes: 20,
      maxLineBytes: 4096,
      maxValues: 200,
      maxFieldBytes: 128,
    });
    expect(config.bundleMaxBytes).toBe(2_097_152);
  });

  it.each([
    ['UPLOAD_MAX_DECOMPRESSED_BYTES', '8GB', 'UPLOAD_MAX_DECOMPRESSED_BYTES must be a whole number of bytes'],
    ['UPLOAD_MAX_CELLS', '0', 'UPLOAD_MAX_CELLS must be a whole number of cells'],
    ['UPLOAD_MAX_GENES', '-5', 'UPLOAD_MAX_GENES must be a whole number of genes'],
    ['UPLOAD_MAX_LINE_BYTES', '10', 'UPLOAD_MAX_LINE_BYTES must be a whole number of bytes (at least 1024)'],
    ['BUNDLE_MAX_BYTES', '1000', 'BUNDLE_MAX_BYTES must be a whole number of bytes (at least 1 MiB)'],
  ])('should reject %s=%s', (name, value, expected) => {
    expect(problem({ ...valid, [name]: value })).toContain(expected);
  });
});

describe('parseApiConfig with an empty environment', () => {
  it('should say what each required variable holds', () => {
    const message = problem({});
    for (const name of ['S3_PORT is required (a port number', 'S3_USE_SSL is required (true or false)']) {
      expect(message).toContain(name);
    }
    expect(message).not.toMatch(/Required/);
  });
});
