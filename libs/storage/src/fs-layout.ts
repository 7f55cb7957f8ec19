import { join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { StorageError } from './errors';
import { assertValidKey } from './object-key';

/**
 * On-disk layout of the filesystem store, shared by FsObjectStore and the credential-less
 * file:// transfers (transfer.ts):
 *   <root>/objects/<key>     one file per object, key segments as folders
 *   <root>/.partial/<uuid>   writes in progress, renamed into objects/ once complete
 * Keeping partial files outside objects/ means list() never sees them, and the rename stays on one
 * filesystem, which is what makes it atomic.
 */
export const OBJECTS_DIR = 'objects';
export const PARTIAL_DIR = '.partial';

export function objectsRoot(root: string): string {
  return join(root, OBJECTS_DIR);
}

export function partialDir(root: string): string {
  return join(root, PARTIAL_DIR);
}

/** Path of `key`'s file; the key is validated, so the path cannot leave `<root>/objects`. */
export function objectPath(root: string, key: string): string {
  assertValidKey(key);
  return join(objectsRoot(root), ...key.split('/'));
}

/**
 * The filesystem store's stand-in for a presigned URL: file://<root>/objects/<key>?key=&method=&expires=.
 * It carries no signature and grants nothing a process could not do with the path itself: it is
 * only meant for the embedded shape, where workers run in the same trust domain as the store.
 * `method` and `expires` are checked by uploadTo / downloadVerified so code written against the
 * S3 store behaves the same here; `key` lets errors name the object.
 */
export function fileObjectUrl(root: string, key: string, method: 'GET' | 'PUT', ttlSeconds: number): string {
  const url = pathToFileURL(objectPath(root, key));
  url.searchParams.set('key', key);
  url.searchParams.set('method', method);
  // Whole seconds, as X-Amz-Date + X-Amz-Expires: valid through `expires`, refused after it.
  url.searchParams.set('expires', String(Math.floor(Date.now() / 1000) + ttlSeconds));
  return url.href;
}

export interface FileObjectTarget {
  root: string;
  key: string;
  path: string;
  method: string | null;
  /** Unix seconds. */
  expires: number;
}

/** Reads a URL made by fileObjectUrl back, refusing one whose path and key disagree. */
export function parseFileObjectUrl(url: URL): FileObjectTarget {
  const key = url.searchParams.get('key') ?? '';
  if (key === '') throw new StorageError('file:// object URL without its key parameter', '(unknown)');
  assertValidKey(key);
  const path = resolve(fileURLToPath(url));
  const suffix = sep + join(OBJECTS_DIR, ...key.split('/'));
  if (!path.endsWith(suffix)) {
    throw new StorageError(
      `file:// URL of object "${key}" does not point at that key in an object store`,
      key,
    );
  }
  const expires = Number(url.searchParams.get('expires'));
  return {
    root: path.slice(0, -suffix.length) || sep,
    key,
    path,
    method: url.searchParams.get('method'),
    expires: Number.isFinite(expires) ? expires : 0,
  };
}
