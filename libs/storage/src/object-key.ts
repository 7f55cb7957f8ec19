import { InvalidKeyError } from './errors';

/**
 * The key rules both stores apply, so code that works against the filesystem store works against
 * MinIO and back. They are stricter than S3's on purpose: keys become file paths in the embedded
 * store, and a key built from a tenant-supplied name (objectKeys in @fl/platform) must never climb
 * out of its prefix (`institutions/<name>/...`).
 */

const MAX_KEY_BYTES = 1024; // S3's limit
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const FORBIDDEN = /[\u0000-\u001f\u007f\\]/;

/** Throws InvalidKeyError unless `key` is a relative, normalised path of non-empty segments. */
export function assertValidKey(key: string): void {
  if (typeof key !== 'string' || key === '') throw new InvalidKeyError(String(key), 'empty');
  if (Buffer.byteLength(key) > MAX_KEY_BYTES)
    throw new InvalidKeyError(key, `longer than ${MAX_KEY_BYTES} bytes`);
  if (FORBIDDEN.test(key)) throw new InvalidKeyError(key, 'control character or backslash');
  if (key.startsWith('/')) throw new InvalidKeyError(key, 'absolute (leading "/")');
  for (const segment of key.split('/')) {
    if (segment === '') throw new InvalidKeyError(key, 'empty path segment (double or trailing "/")');
    if (segment === '.' || segment === '..') throw new InvalidKeyError(key, `"${segment}" segment`);
  }
}

/**
 * Prefixes follow S3 semantics (a plain string prefix: `a/b` also matches `a/bc/...`; end it with
 * "/" to mean a folder) but may not contain what a key may not, except in their last, partial
 * segment, which only ever gets compared as a string.
 */
export function assertValidPrefix(prefix: string): void {
  if (typeof prefix !== 'string') throw new InvalidKeyError(String(prefix), 'prefix is not a string');
  if (prefix === '') return;
  if (FORBIDDEN.test(prefix)) throw new InvalidKeyError(prefix, 'control character or backslash');
  if (prefix.startsWith('/')) throw new InvalidKeyError(prefix, 'absolute (leading "/")');
  const complete = prefix.split('/').slice(0, -1);
  for (const segment of complete) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw new InvalidKeyError(prefix, `"${segment}" segment`);
    }
  }
}
