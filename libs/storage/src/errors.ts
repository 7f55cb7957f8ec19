/**
 * What can go wrong with a stored object. Every error names the object key it concerns and never
 * a URL's query string: presigned URLs carry their signature there, and error messages end up in
 * logs and job results that other parties read.
 */

/** Base class, so callers can tell storage failures from their own. */
export class StorageError extends Error {
  constructor(
    message: string,
    readonly key: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The key does not exist (or, in the filesystem store, names a folder rather than an object). */
export class ObjectNotFoundError extends StorageError {
  constructor(key: string, options?: { cause?: unknown }) {
    super(`object "${key}" does not exist`, key, options);
  }
}

/** The bytes read are not the ones expected: tampering, truncation or a stale reference. */
export class IntegrityError extends StorageError {
  constructor(
    key: string,
    readonly expectedSha256: string,
    readonly actualSha256: string,
  ) {
    super(
      `object "${key}" failed its integrity check: expected sha256 ${expectedSha256}, got ${actualSha256}`,
      key,
    );
  }
}

/** A streamed upload went past its size limit; nothing was stored under the key. */
export class ObjectTooLargeError extends StorageError {
  constructor(
    key: string,
    readonly maxBytes: number,
  ) {
    super(`object "${key}" exceeds the limit of ${maxBytes} bytes; nothing was stored`, key);
  }
}

/** A key or prefix that could escape its namespace or that object stores disagree on. */
export class InvalidKeyError extends StorageError {
  constructor(key: string, reason: string) {
    super(`invalid object key ${JSON.stringify(key)}: ${reason}`, key);
  }
}

/**
 * A transfer through a presigned URL failed. `status` is the HTTP status (null when no answer
 * came back) and `code` the S3 error code when the server sent one (AccessDenied,
 * SignatureDoesNotMatch, ...). The file:// URLs of the filesystem store report the statuses an S3
 * server would (403 for an expired URL).
 */
export class TransferError extends StorageError {
  constructor(
    key: string,
    readonly method: 'GET' | 'PUT',
    readonly status: number | null,
    readonly code?: string,
    detail?: string,
    options?: { cause?: unknown },
  ) {
    const what = status === null ? 'failed' : `refused: HTTP ${status}${code ? ` ${code}` : ''}`;
    super(`${method} of object "${key}" ${what}${detail ? ` (${detail})` : ''}`, key, options);
  }
}
