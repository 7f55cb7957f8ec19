import { mkdir, open, readdir, readFile, rmdir, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pipeline, type Readable } from 'node:stream';
import { ObjectNotFoundError, StorageError } from './errors';
import { writeObjectAtomically } from './fs-atomic-write';
import { fileObjectUrl, objectPath, objectsRoot, partialDir } from './fs-layout';
import { assertValidPrefix } from './object-key';
import {
  assertValidMaxBytes,
  assertValidTtl,
  type ObjectStat,
  type ObjectStore,
  type PutStreamOptions,
  type StoredObject,
} from './object-store';
import { bufferView, verifyingStream, verifySha256 } from './sha256';

/** Error codes meaning "no object under this key" (missing file, or a folder on the way or at the end). */
const ABSENT = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);
const isAbsent = (err: unknown) => ABSENT.has((err as NodeJS.ErrnoException).code ?? '');

/**
 * The embedded, serverless object store: one directory (layout in fs-layout.ts). Same contract as
 * MinioObjectStore (object-store.contract.ts runs against both) except that content types are not
 * kept and that its file:// "presigned" URLs are not signed: any holder can edit them to reach
 * another key, so they isolate nothing and suit only workers inside the same process or host.
 */
export class FsObjectStore implements ObjectStore {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  /** Creates the folders up front (writes would create them anyway); named as MinioObjectStore's. */
  async ensureBucket(): Promise<void> {
    await mkdir(objectsRoot(this.root), { recursive: true });
    await mkdir(partialDir(this.root), { recursive: true });
  }

  async putBuffer(key: string, data: Uint8Array, _opts?: { contentType?: string }): Promise<StoredObject> {
    return writeObjectAtomically(this.root, key, bufferView(data), { createPartialDir: true });
  }

  async putStream(key: string, stream: Readable, opts: PutStreamOptions = {}): Promise<StoredObject> {
    assertValidMaxBytes(opts.maxBytes);
    objectPath(this.root, key); // validate before touching the stream
    return writeObjectAtomically(this.root, key, stream, { maxBytes: opts.maxBytes, createPartialDir: true });
  }

  async getBuffer(key: string, expectedSha256: string): Promise<Buffer> {
    const path = objectPath(this.root, key);
    let data: Buffer;
    try {
      data = await readFile(path);
    } catch (err) {
      if (isAbsent(err)) throw new ObjectNotFoundError(key, { cause: err });
      throw err;
    }
    verifySha256(key, data, expectedSha256);
    return data;
  }

  async getStream(key: string, expectedSha256?: string): Promise<Readable> {
    const path = objectPath(this.root, key);
    const verifier = expectedSha256 === undefined ? undefined : verifyingStream(key, expectedSha256);
    let file;
    try {
      file = await open(path, 'r');
    } catch (err) {
      if (isAbsent(err)) throw new ObjectNotFoundError(key, { cause: err });
      throw err;
    }
    // Opening a folder succeeds on Linux; it only fails on read.
    if (!(await file.stat()).isFile()) {
      await file.close();
      throw new ObjectNotFoundError(key);
    }
    const stream = file.createReadStream();
    if (!verifier) return stream;
    return pipeline(stream, verifier, () => undefined);
  }

  async stat(key: string): Promise<ObjectStat | null> {
    try {
      const info = await stat(objectPath(this.root, key));
      return info.isFile() ? { bytes: info.size } : null;
    } catch (err) {
      if (isAbsent(err)) return null;
      throw err;
    }
  }

  async remove(key: string): Promise<void> {
    const path = objectPath(this.root, key);
    try {
      await unlink(path);
    } catch (err) {
      // EPERM: unlink of a folder on some systems; a folder is not an object either way.
      if (isAbsent(err) || (err as NodeJS.ErrnoException).code === 'EPERM') return;
      throw err;
    }
    await this.pruneEmptyFolders(dirname(path));
  }

  async removePrefix(prefix: string): Promise<void> {
    assertValidPrefix(prefix);
    if (prefix === '') throw new StorageError('removePrefix refuses the empty prefix (everything)', prefix);
    for (const key of await this.list(prefix)) await this.remove(key);
  }

  async list(prefix: string): Promise<string[]> {
    assertValidPrefix(prefix);
    // Start from the deepest folder the prefix fully names instead of walking the whole store.
    const folders = prefix.split('/').slice(0, -1);
    const keys: string[] = [];
    await this.walk(join(objectsRoot(this.root), ...folders), folders, prefix, keys);
    return keys.sort();
  }

  async presignedGetUrl(key: string, ttlSeconds: number): Promise<string> {
    assertValidTtl(ttlSeconds);
    return fileObjectUrl(this.root, key, 'GET', ttlSeconds);
  }

  async presignedPutUrl(key: string, ttlSeconds: number): Promise<string> {
    assertValidTtl(ttlSeconds);
    // uploadTo writes through <root>/.partial but will not create it (see fs-atomic-write.ts).
    await mkdir(partialDir(this.root), { recursive: true });
    return fileObjectUrl(this.root, key, 'PUT', ttlSeconds);
  }

  private async walk(dir: string, segments: string[], prefix: string, out: string[]): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (isAbsent(err)) return;
      throw err;
    }
    for (const entry of entries) {
      const key = [...segments, entry.name].join('/');
      if (entry.isDirectory()) {
        // Descend only where keys can still start with the prefix.
        const folder = `${key}/`;
        if (folder.startsWith(prefix) || prefix.startsWith(folder)) {
          await this.walk(join(dir, entry.name), [...segments, entry.name], prefix, out);
        }
      } else if (entry.isFile() && key.startsWith(prefix)) {
        out.push(key);
      }
    }
  }

  /** Removes folders left empty by a removal, up to (not including) <root>/objects. */
  private async pruneEmptyFolders(dir: string): Promise<void> {
    const top = objectsRoot(this.root);
    for (let current = dir; current.startsWith(top) && current !== top; current = dirname(current)) {
      try {
        await rmdir(current);
      } catch {
        return; // not empty (or already gone): stop climbing
      }
    }
  }
}
