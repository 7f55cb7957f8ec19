import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InvalidKeyError, ObjectTooLargeError, StorageError } from './errors';
import { objectPath, partialDir } from './fs-layout';
import type { StoredObject } from './object-store';
import { asBuffer } from './sha256';

export interface AtomicWriteOptions {
  maxBytes?: number;
  /**
   * Create <root>/.partial if missing. The store does; a file:// upload does not, so a URL edited
   * to point outside an object store fails instead of littering folders (transfer.ts).
   */
  createPartialDir: boolean;
}

/**
 * Writes an object the only way that never exposes half of it: into <root>/.partial, flushed to
 * disk, then renamed over <root>/objects/<key> (rename replaces atomically on POSIX). Readers see
 * the old object or the new one, never a mix, and a failed or oversized write leaves nothing.
 */
export async function writeObjectAtomically(
  root: string,
  key: string,
  source: Uint8Array | AsyncIterable<unknown>,
  options: AtomicWriteOptions,
): Promise<StoredObject> {
  const finalPath = objectPath(root, key);
  const tmpDir = partialDir(root);
  if (options.createPartialDir) await mkdir(tmpDir, { recursive: true });
  const tmpPath = join(tmpDir, randomUUID());
  const hash = createHash('sha256');
  let bytes = 0;

  const file = await open(tmpPath, 'wx');
  try {
    const chunks = source instanceof Uint8Array ? [source] : source;
    for await (const chunk of chunks) {
      const buf = asBuffer(chunk);
      bytes += buf.length;
      // Leaving the loop early destroys a Readable source, which is the "stop" of putStream.
      if (options.maxBytes !== undefined && bytes > options.maxBytes) {
        throw new ObjectTooLargeError(key, options.maxBytes);
      }
      hash.update(buf);
      for (let offset = 0; offset < buf.length;) {
        offset += (await file.write(buf, offset, buf.length - offset)).bytesWritten;
      }
    }
    // Flush before the rename: otherwise a crash could leave a complete-looking name on empty data.
    await file.sync();
  } catch (err) {
    await file.close().catch(() => undefined);
    await rm(tmpPath, { force: true });
    throw err;
  }
  await file.close();

  try {
    await renameIntoPlace(tmpPath, finalPath, key);
  } catch (err) {
    await rm(tmpPath, { force: true });
    throw err;
  }
  return { key, sha256: hash.digest('hex'), bytes };
}

async function renameIntoPlace(tmpPath: string, finalPath: string, key: string): Promise<void> {
  // A concurrent remove() may prune the freshly made parent folder between mkdir and rename.
  for (let attempt = 0; ; attempt++) {
    try {
      await mkdir(dirname(finalPath), { recursive: true });
      await rename(tmpPath, finalPath);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && attempt < 3) continue;
      if (code === 'ENOTDIR' || code === 'EEXIST' || code === 'EISDIR') {
        // S3 allows both `a/b` and `a/b/c`; a filesystem cannot (a file is not a folder).
        throw new InvalidKeyError(key, 'clashes with an existing key used as a folder, or the reverse');
      }
      throw new StorageError(`could not store object "${key}": ${(err as Error).message}`, key, {
        cause: err,
      });
    }
  }
}
