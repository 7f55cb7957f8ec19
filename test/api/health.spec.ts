import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageOf, startApi, type ApiHarness } from './support/api-harness';

describe('api: readiness with a dependency down', () => {
  let api: ApiHarness;

  beforeAll(async () => {
    // Nothing listens on port 1: the object store is unreachable from the start.
    api = await startApi('health', { S3_PORT: '1' });
  });

  afterAll(async () => {
    await api?.close();
  });

  it('should still start and say it is alive', async () => {
    expect((await api.rest('/health/live')).status).toBe(200);
  });

  it('should answer 503 naming what is down', async () => {
    const res = await api.rest('/health/ready');
    expect(res.status).toBe(503);
    const message = await messageOf(res);
    expect(message).toMatch(
      new RegExp(`^Not ready: the object store bucket "${api.config.s3.bucket}" is unreachable`),
    );
    expect(message).not.toMatch(/Postgres|Redis/);
  });
});
