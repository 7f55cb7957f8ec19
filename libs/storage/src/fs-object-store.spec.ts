import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chunked, objectStoreContract } from './object-store.contract';
import {
  downloadVerified,
  FsObjectStore,
  InvalidKeyError,
  ObjectTooLargeError,
  sha256Hex,
  StorageError,
  uploadTo,
} from './index';

objectStoreContract('FsObjectStore', async () => {
  const root = mkdtempSync(join(tmpdir(), 'fs-store-'));
  const store = new FsObjectStore(root);
  return {
    store,
    tamper: (key, bytes) => writeFile(join(root, 'objects', ...key.split('/')), bytes),
    close: async () => rmSync(root, { recursive: true, force: true }),
  };
});

describe('FsObjectStore specifics', () => {
  let root: string;
  let store: FsObjectStore;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'fs-store-'));
    store = new FsObjectStore(root);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const partials = () => (existsSync(join(root, '.partial')) ? readdirSync(join(root, '.partial')) : []);

  it('keeps objects at <root>/objects/<key> and no temporary file after writes', async () => {
    await store.putBuffer('institutions/a/datasets/d1/x.csv', Buffer.from('x'));
    await store.putStream('federations/f/genes.txt', chunked(Buffer.from('g1\ng2\n'), 2));
    await expect(
      store.putStream('t/big.bin', chunked(randomBytes(10_000), 100), { maxBytes: 10 }),
    ).rejects.toThrow(ObjectTooLargeError);
    expect(existsSync(join(root, 'objects', 'institutions', 'a', 'datasets', 'd1', 'x.csv'))).toBe(true);
    expect(partials()).toEqual([]);
  });

  it('lists nothing (rather than failing) before the first write', async () => {
    expect(await new FsObjectStore(join(root, 'not-yet')).list('')).toEqual([]);
  });

  it('readers see the old object until a slow write completes, then the new one', async () => {
    const key = 'federations/f/models/round-00001/weights.bin';
    const old = await store.putBuffer(key, Buffer.from('old model'));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    async function* slow() {
      yield Buffer.from('new ');
      await gate;
      yield Buffer.from('model');
    }
    const writing = store.putStream(key, Readable.from(slow()));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await store.getBuffer(key, old.sha256)).toString()).toBe('old model');
    expect(partials()).toHaveLength(1);
    release();
    const stored = await writing;
    expect((await store.getBuffer(key, stored.sha256)).toString()).toBe('new model');
  });

  it('concurrent writes of one key leave one complete version', async () => {
    const key = 'k/concurrent.bin';
    const versions = [randomBytes(200_000), randomBytes(200_000), randomBytes(200_000)];
    const results = await Promise.all(versions.map((v) => store.putStream(key, chunked(v, 4096))));
    const onDisk = await store.getStream(key);
    const chunks: Buffer[] = [];
    for await (const c of onDisk) chunks.push(c as Buffer);
    const sha = sha256Hex(Buffer.concat(chunks));
    expect(results.map((r) => r.sha256)).toContain(sha);
  });

  it('removal prunes folders left empty', async () => {
    await store.putBuffer('a/b/c/one.bin', Buffer.from('1'));
    await store.putBuffer('a/two.bin', Buffer.from('2'));
    await store.remove('a/b/c/one.bin');
    expect(readdirSync(join(root, 'objects', 'a'))).toEqual(['two.bin']);
    await store.removePrefix('a/');
    expect(readdirSync(join(root, 'objects'))).toEqual([]);
  });

  it('refuses a key that needs a file to be a folder (S3 would allow it)', async () => {
    await store.putBuffer('a/b', Buffer.from('file'));
    await expect(store.putBuffer('a/b/c', Buffer.from('x'))).rejects.toBeInstanceOf(InvalidKeyError);
    await store.putBuffer('x/y/z', Buffer.from('file'));
    await expect(store.putBuffer('x/y', Buffer.from('x'))).rejects.toBeInstanceOf(InvalidKeyError);
    expect(await store.stat('x/y')).toBeNull();
    expect(partials()).toEqual([]);
  });

  it('file:// URLs are unsigned: an edited URL reaches another key (embedded use only)', async () => {
    // Documented limitation, pinned so nobody mistakes these URLs for a security boundary:
    // MinioObjectStore's presigned URLs are what isolates tenants (s3-access.spec.ts).
    const a = await store.putBuffer('institutions/a/x.bin', Buffer.from('a data'));
    const b = await store.putBuffer('institutions/b/y.bin', Buffer.from('b data'));
    const urlA = await store.presignedGetUrl('institutions/a/x.bin', 60);
    const edited = urlA
      .replaceAll('institutions/a/x.bin', 'institutions/b/y.bin')
      .replaceAll('institutions%2Fa%2Fx.bin', 'institutions%2Fb%2Fy.bin');
    expect((await downloadVerified(edited, b.sha256)).toString()).toBe('b data');
    expect((await downloadVerified(urlA, a.sha256)).toString()).toBe('a data');
  });

  it('file:// URLs still bind method and expiry, and a path that disagrees with its key', async () => {
    const key = 'k/x.bin';
    const stored = await store.putBuffer(key, Buffer.from('x'));
    const getUrl = await store.presignedGetUrl(key, 60);
    await expect(uploadTo(getUrl, Buffer.from('y'))).rejects.toMatchObject({ status: 403, method: 'PUT' });
    const putUrl = await store.presignedPutUrl(key, 60);
    await expect(downloadVerified(putUrl, stored.sha256)).rejects.toMatchObject({
      status: 403,
      method: 'GET',
    });
    const mismatched = getUrl.replace('key=k%2Fx.bin', 'key=k%2Fother.bin');
    await expect(downloadVerified(mismatched, stored.sha256)).rejects.toBeInstanceOf(StorageError);
  });

  it('a file:// PUT URL pointing outside an object store writes nothing', async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'not-a-store-'));
    try {
      const url = await store.presignedPutUrl('k/x.bin', 60);
      const moved = url.replace(new URL(`file://${root}`).pathname, new URL(`file://${elsewhere}`).pathname);
      expect(moved).not.toBe(url);
      await expect(uploadTo(moved, Buffer.from('x'))).rejects.toThrow(/k\/x\.bin/);
      expect(readdirSync(elsewhere)).toEqual([]);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });
});
