/**
 * The ObjectStore contract, written once and run against every implementation
 * (fs-object-store.spec.ts, minio-object-store.spec.ts), so the embedded store and MinIO cannot
 * drift apart. Each test works under its own random prefix, so one store serves the whole suite.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  downloadVerified,
  IntegrityError,
  InvalidKeyError,
  ObjectNotFoundError,
  ObjectTooLargeError,
  sha256Hex,
  StorageError,
  TransferError,
  uploadTo,
  type ObjectStore,
} from './index';

export interface StoreFixture {
  store: ObjectStore;
  /** Replaces the stored bytes of `key` behind the store's back (on disk), as an attacker would. */
  tamper(key: string, bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** `data` as a stream of `chunk`-byte pieces. */
export function chunked(data: Buffer, chunk: number): Readable {
  function* pieces() {
    for (let i = 0; i < data.length; i += chunk) yield data.subarray(i, i + chunk);
  }
  return Readable.from(pieces());
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function objectStoreContract(name: string, open: () => Promise<StoreFixture>): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let fx: StoreFixture;
    let store: ObjectStore;
    beforeAll(async () => {
      fx = await open();
      store = fx.store;
    });
    afterAll(async () => {
      await fx?.close();
    });
    const ns = () => `test/${randomUUID()}/`;

    describe('round trips', () => {
      it('stores a buffer and reads it back, verified', async () => {
        const key = `${ns()}weights.bin`;
        const data = randomBytes(10_000);
        const stored = await store.putBuffer(key, data, { contentType: 'application/octet-stream' });
        expect(stored).toEqual({ key, sha256: sha256Hex(data), bytes: data.length });
        expect(await store.getBuffer(key, stored.sha256)).toEqual(data);
        expect(await store.stat(key)).toEqual({ bytes: data.length });
      });

      it('stores an empty object', async () => {
        const key = `${ns()}empty.txt`;
        const stored = await store.putBuffer(key, new Uint8Array(0));
        expect(stored.bytes).toBe(0);
        expect((await store.getBuffer(key, stored.sha256)).length).toBe(0);
        expect(await store.stat(key)).toEqual({ bytes: 0 });
      });

      it('accepts a Uint8Array view into a larger buffer (only the view is stored)', async () => {
        const key = `${ns()}view.bin`;
        const backing = randomBytes(100);
        const view = new Uint8Array(backing.buffer, backing.byteOffset + 10, 50);
        const stored = await store.putBuffer(key, view);
        expect(stored.bytes).toBe(50);
        expect(await store.getBuffer(key, stored.sha256)).toEqual(backing.subarray(10, 60));
      });

      it('stores a stream, hashing it on the way, and streams it back', async () => {
        const key = `${ns()}dataset.h5ad`;
        const data = randomBytes(1_000_003);
        const stored = await store.putStream(key, chunked(data, 65_536), { maxBytes: 2_000_000 });
        expect(stored).toEqual({ key, sha256: sha256Hex(data), bytes: data.length });
        // Buffer.equals, not toEqual: a deep compare of 1 MB is slow enough on a loaded machine to
        // block the event loop past the server's keep-alive timeout.
        expect((await readAll(await store.getStream(key))).equals(data)).toBe(true);
        expect((await readAll(await store.getStream(key, stored.sha256))).equals(data)).toBe(true);
      });

      it('accepts a stream of exactly maxBytes', async () => {
        const key = `${ns()}exact.bin`;
        const data = randomBytes(4096);
        const stored = await store.putStream(key, chunked(data, 1000), { maxBytes: 4096 });
        expect(stored.bytes).toBe(4096);
      });

      it('replaces an object written again under the same key', async () => {
        const key = `${ns()}genes.txt`;
        await store.putBuffer(key, Buffer.from('old'));
        const second = await store.putStream(key, chunked(Buffer.from('new genes'), 3));
        expect((await store.getBuffer(key, second.sha256)).toString()).toBe('new genes');
      });
    });

    describe('integrity', () => {
      it('refuses bytes that do not match the expected sha256, naming key and both hashes', async () => {
        const key = `${ns()}model.bin`;
        const stored = await store.putBuffer(key, Buffer.from('model v1'));
        const wrong = sha256Hex(Buffer.from('something else'));
        const err = await store.getBuffer(key, wrong).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(IntegrityError);
        expect(err).toMatchObject({ key, expectedSha256: wrong, actualSha256: stored.sha256 });
        expect((err as Error).message).toContain(key);
        expect((err as Error).message).toContain(wrong);
        expect((err as Error).message).toContain(stored.sha256);
      });

      it('detects bytes changed on the storage disk', async () => {
        const key = `${ns()}update.bin`;
        const stored = await store.putBuffer(key, Buffer.from('honest update'));
        await fx.tamper(key, Buffer.from('forged update'));
        await expect(store.getBuffer(key, stored.sha256)).rejects.toMatchObject({
          name: 'IntegrityError',
          key,
          expectedSha256: stored.sha256,
          actualSha256: sha256Hex(Buffer.from('forged update')),
        });
        // A verified stream fails at its end, too.
        await expect(readAll(await store.getStream(key, stored.sha256))).rejects.toBeInstanceOf(
          IntegrityError,
        );
      });

      it('detects an object overwritten with different bytes since its hash was recorded', async () => {
        const key = `${ns()}landmarks.json`;
        const first = await store.putBuffer(key, Buffer.from('{"a":1}'));
        await store.putBuffer(key, Buffer.from('{"a":2}'));
        await expect(store.getBuffer(key, first.sha256)).rejects.toBeInstanceOf(IntegrityError);
      });

      it('rejects a malformed expected hash as a programming error', async () => {
        const key = `${ns()}x.bin`;
        await store.putBuffer(key, Buffer.from('x'));
        await expect(store.getBuffer(key, 'not-a-hash')).rejects.toBeInstanceOf(TypeError);
      });
    });

    describe('size limit', () => {
      it('stops a too-large stream, destroys it and leaves nothing under the key', async () => {
        const prefix = ns();
        const key = `${prefix}too-big.bin`;
        const source = chunked(randomBytes(50_000), 1000);
        const err = await store.putStream(key, source, { maxBytes: 10_000 }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ObjectTooLargeError);
        expect(err).toMatchObject({ key, maxBytes: 10_000 });
        expect(source.destroyed).toBe(true);
        expect(await store.stat(key)).toBeNull();
        expect(await store.list(prefix)).toEqual([]);
        await expect(store.getBuffer(key, sha256Hex(Buffer.alloc(0)))).rejects.toBeInstanceOf(
          ObjectNotFoundError,
        );
      });

      it('leaves the previous object intact when a replacement is too large', async () => {
        const key = `${ns()}kept.bin`;
        const before = await store.putBuffer(key, Buffer.from('previous'));
        await expect(
          store.putStream(key, chunked(randomBytes(5000), 100), { maxBytes: 1000 }),
        ).rejects.toBeInstanceOf(ObjectTooLargeError);
        expect((await store.getBuffer(key, before.sha256)).toString()).toBe('previous');
      });

      it('fails on a source stream error and stores nothing', async () => {
        const key = `${ns()}broken.bin`;
        async function* failing() {
          yield Buffer.from('first part');
          throw new Error('disk on fire');
        }
        await expect(store.putStream(key, Readable.from(failing()))).rejects.toThrow('disk on fire');
        expect(await store.stat(key)).toBeNull();
      });
    });

    describe('missing objects', () => {
      it('reports a missing key by name', async () => {
        const key = `${ns()}absent.bin`;
        const err = await store.getBuffer(key, sha256Hex(Buffer.from(''))).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ObjectNotFoundError);
        expect((err as ObjectNotFoundError).key).toBe(key);
        expect((err as Error).message).toContain(key);
        await expect(store.getStream(key)).rejects.toBeInstanceOf(ObjectNotFoundError);
        expect(await store.stat(key)).toBeNull();
      });

      it('removes idempotently', async () => {
        const key = `${ns()}gone.bin`;
        await store.putBuffer(key, Buffer.from('x'));
        await store.remove(key);
        expect(await store.stat(key)).toBeNull();
        await store.remove(key);
      });
    });

    describe('listing', () => {
      it('lists by plain string prefix, sorted, and removes a prefix only', async () => {
        const root = ns();
        const keys = [
          `${root}institutions/a/datasets/d1/x.h5ad`,
          `${root}institutions/a/datasets/d2/y.csv`,
          `${root}institutions/ab/datasets/d3/z.csv`,
          `${root}institutions/b/datasets/d4/w.csv`,
        ];
        for (const key of [...keys].reverse()) await store.putBuffer(key, Buffer.from(key));
        expect(await store.list(`${root}institutions/a/`)).toEqual(keys.slice(0, 2));
        expect(await store.list(`${root}institutions/a`)).toEqual(keys.slice(0, 3));
        expect(await store.list(`${root}institutions/a/datasets/d1/x`)).toEqual(keys.slice(0, 1));
        expect(await store.list(root)).toEqual(keys);
        expect(await store.list(`${root}nothing/`)).toEqual([]);

        await store.removePrefix(`${root}institutions/a/`);
        expect(await store.list(root)).toEqual(keys.slice(2));
        await store.removePrefix(`${root}institutions/`);
        expect(await store.list(root)).toEqual([]);
      });

      it('refuses to remove the empty prefix', async () => {
        await expect(store.removePrefix('')).rejects.toBeInstanceOf(StorageError);
      });
    });

    describe('keys', () => {
      const bad = ['', '/etc/passwd', '../escape', 'a/../../b', 'a//b', 'a/./b', 'a/b/', 'a\\b', 'a\u0000b'];
      it.each(bad)('refuses key %j everywhere', async (key) => {
        await expect(store.putBuffer(key, Buffer.from('x'))).rejects.toBeInstanceOf(InvalidKeyError);
        await expect(store.putStream(key, chunked(Buffer.from('x'), 1))).rejects.toBeInstanceOf(
          InvalidKeyError,
        );
        await expect(store.getBuffer(key, sha256Hex(Buffer.from('x')))).rejects.toBeInstanceOf(
          InvalidKeyError,
        );
        await expect(store.getStream(key)).rejects.toBeInstanceOf(InvalidKeyError);
        await expect(store.stat(key)).rejects.toBeInstanceOf(InvalidKeyError);
        await expect(store.remove(key)).rejects.toBeInstanceOf(InvalidKeyError);
        await expect(store.presignedGetUrl(key, 60)).rejects.toBeInstanceOf(InvalidKeyError);
        await expect(store.presignedPutUrl(key, 60)).rejects.toBeInstanceOf(InvalidKeyError);
      });

      it('refuses prefixes that climb', async () => {
        await expect(store.list('../')).rejects.toBeInstanceOf(InvalidKeyError);
        await expect(store.list('/abs/')).rejects.toBeInstanceOf(InvalidKeyError);
        await expect(store.removePrefix('a/../')).rejects.toBeInstanceOf(InvalidKeyError);
      });

      it('keeps keys with spaces and unicode intact', async () => {
        // No "+" or "%": s3rver ignores encoding-type=url in listings while the minio client
        // always URL-decodes listed keys, so those two characters come back altered from s3rver
        // (not from MinIO).
        const key = `${ns()}institutions/Hôpital Saint-Louis/datasets/d=1,2/pbmc (v3) ~x.csv`;
        const stored = await store.putBuffer(key, Buffer.from('cells'));
        expect(await store.list(key)).toEqual([key]);
        expect((await store.getBuffer(key, stored.sha256)).toString()).toBe('cells');
        const url = await store.presignedGetUrl(key, 60);
        expect((await downloadVerified(url, stored.sha256)).toString()).toBe('cells');
      });
    });

    describe('presigned URLs (the worker side)', () => {
      it('downloads through a presigned GET, verified', async () => {
        const key = `${ns()}models/round-00001/weights.bin`;
        const data = randomBytes(20_000);
        const stored = await store.putBuffer(key, data);
        const url = await store.presignedGetUrl(key, 60);
        expect(await downloadVerified(url, stored.sha256)).toEqual(data);
        await expect(downloadVerified(url, sha256Hex(Buffer.from('other')))).rejects.toMatchObject({
          name: 'IntegrityError',
          key,
        });
      });

      it('uploads through a presigned PUT and reports sha256 and size', async () => {
        const key = `${ns()}rounds/00001/inst-a.bin`;
        const data = randomBytes(30_000);
        const url = await store.presignedPutUrl(key, 60);
        const written = await uploadTo(url, data);
        expect(written).toEqual({ sha256: sha256Hex(data), bytes: data.length });
        expect(await store.getBuffer(key, written.sha256)).toEqual(data);
        expect(await store.list(key)).toEqual([key]);
      });

      it('reports a missing object behind a presigned GET by key', async () => {
        const key = `${ns()}absent.bin`;
        const url = await store.presignedGetUrl(key, 60);
        await expect(downloadVerified(url, sha256Hex(Buffer.from('')))).rejects.toMatchObject({
          name: 'ObjectNotFoundError',
          key,
        });
      });

      it('refuses an expired URL with 403, naming the key but not the signature', async () => {
        const key = `${ns()}expiring.bin`;
        const stored = await store.putBuffer(key, Buffer.from('short-lived'));
        const getUrl = await store.presignedGetUrl(key, 1);
        const putUrl = await store.presignedPutUrl(key, 1);
        await sleep(2100);
        const err = await downloadVerified(getUrl, stored.sha256).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(TransferError);
        expect(err).toMatchObject({ key, status: 403, method: 'GET', code: 'AccessDenied' });
        const message = (err as Error).message;
        expect(message).toContain(key);
        expect(message).toContain('403');
        const query = new URL(getUrl).search;
        expect(message).not.toContain(query);
        const signature = new URL(getUrl).searchParams.get('X-Amz-Signature');
        if (signature) expect(message).not.toContain(signature);
        await expect(uploadTo(putUrl, Buffer.from('late'))).rejects.toMatchObject({
          status: 403,
          method: 'PUT',
        });
        expect((await store.getBuffer(key, stored.sha256)).toString()).toBe('short-lived');
      });

      it('bounds URL lifetimes to 1 s .. 7 days', async () => {
        const key = `${ns()}ttl.bin`;
        await expect(store.presignedGetUrl(key, 0)).rejects.toBeInstanceOf(RangeError);
        await expect(store.presignedPutUrl(key, 7 * 24 * 3600 + 1)).rejects.toBeInstanceOf(RangeError);
        await expect(store.presignedGetUrl(key, 1.5)).rejects.toBeInstanceOf(RangeError);
      });
    });
  });
}
