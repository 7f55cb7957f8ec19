/**
 * MinioObjectStore against a real S3 endpoint over HTTP: s3rver on loopback, driven through the
 * `minio` client as in production. The contract runs twice: on s3rver as shipped, and behind the
 * Signature V4 checker of test/support/s3-server.ts, which proves every request the store and its
 * presigned URLs make is correctly signed (s3rver alone would accept anything, s3-access.spec.ts).
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3Server, type S3Server } from '../../../scripts/local-stack/s3-server';
import { chunked, objectStoreContract, readAll } from './object-store.contract';
import { MinioObjectStore, ObjectTooLargeError, sha256Hex } from './index';

const BUCKET = 'scprivacy-test';
const MiB = 1024 * 1024;

function storeOn(server: S3Server, extra: { partSize?: number } = {}): MinioObjectStore {
  const { endPoint, port, useSSL, accessKey, secretKey, region } = server;
  return new MinioObjectStore({
    endPoint,
    port,
    useSSL,
    accessKey,
    secretKey,
    region,
    bucket: BUCKET,
    ...extra,
  });
}

/** Where s3rver keeps an object's bytes (lib/stores/filesystem.js). */
function s3rverObjectPath(server: S3Server, key: string): string {
  return join(server.directory, BUCKET, `${key}._S3rver_object`);
}

for (const verifySignatures of [false, true]) {
  objectStoreContract(
    `MinioObjectStore on s3rver${verifySignatures ? ' + Signature V4 checks' : ''}`,
    async () => {
      const server = await startS3Server({ verifySignatures });
      const store = storeOn(server);
      await store.ensureBucket();
      return {
        store,
        tamper: (key, bytes) => writeFile(s3rverObjectPath(server, key), bytes),
        close: () => server.stop(),
      };
    },
  );
}

describe('MinioObjectStore specifics', () => {
  let server: S3Server;
  let store: MinioObjectStore;
  beforeAll(async () => {
    server = await startS3Server({ verifySignatures: true });
    // The smallest part size S3 allows, so multipart uploads happen with small test data.
    store = storeOn(server, { partSize: 5 * MiB });
    await store.ensureBucket();
  });
  afterAll(() => server?.stop());

  it('ensureBucket is idempotent and safe to race', async () => {
    await Promise.all([store.ensureBucket(), storeOn(server).ensureBucket(), store.ensureBucket()]);
    expect(await store.list('')).toEqual(expect.any(Array));
  });

  it('streams larger than a part go up as a multipart upload and read back whole', async () => {
    const data = randomBytes(11 * MiB + 123);
    const stored = await store.putStream('big/stream.bin', chunked(data, 256 * 1024));
    expect(stored).toEqual({ key: 'big/stream.bin', sha256: sha256Hex(data), bytes: data.length });
    expect(await store.stat('big/stream.bin')).toEqual({ bytes: data.length });
    expect(sha256Hex(await readAll(await store.getStream('big/stream.bin', stored.sha256)))).toBe(
      stored.sha256,
    );
  });

  it('a buffer larger than a part is uploaded in parts too', async () => {
    const data = randomBytes(10 * MiB + 1);
    const stored = await store.putBuffer('big/buffer.bin', data);
    expect((await store.getBuffer('big/buffer.bin', stored.sha256)).equals(data)).toBe(true);
  });

  it('a multipart upload cut by maxBytes leaves nothing under the key', async () => {
    // Two parts are sent before the limit is hit; the upload is then aborted (s3rver answers the
    // abort with 405 and keeps the parts in its uploads folder, but never as an object).
    const source = chunked(randomBytes(16 * MiB), 512 * 1024);
    await expect(store.putStream('big/cut.bin', source, { maxBytes: 12 * MiB })).rejects.toBeInstanceOf(
      ObjectTooLargeError,
    );
    expect(source.destroyed).toBe(true);
    expect(await store.stat('big/cut.bin')).toBeNull();
    expect(await store.list('big/cut')).toEqual([]);
  });

  it('refuses a part size S3 would refuse', () => {
    expect(() => storeOn(server, { partSize: 1024 })).toThrow(RangeError);
  });
});
