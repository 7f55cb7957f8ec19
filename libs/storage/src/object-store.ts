import type { Readable } from 'node:stream';

/**
 * The one storage interface the platform codes against. Two implementations:
 * - MinioObjectStore: MinIO (or any S3 endpoint) through the `minio` client, for deployments;
 * - FsObjectStore: one local directory, for the embedded single-process shape and tests.
 *
 * Objects are immutable blobs addressed by key (layout: objectKeys in @fl/platform). Integrity is
 * end to end: whoever writes learns the sha256 of what was stored, records it next to the key,
 * and every read states the hash it expects. Workers never see this interface: they get presigned
 * URLs for exactly the objects of their job and use downloadVerified / uploadTo (transfer.ts).
 */
export interface ObjectStore {
  /** Stores `data` under `key`, replacing any previous object, atomically. */
  putBuffer(key: string, data: Uint8Array, opts?: { contentType?: string }): Promise<StoredObject>;

  /**
   * Stores a stream, hashing it on the way. Past `maxBytes` the upload stops, the source is
   * destroyed and ObjectTooLargeError is thrown; neither a partial object nor a change to a
   * previous object under `key` is ever visible.
   */
  putStream(key: string, stream: Readable, opts?: PutStreamOptions): Promise<StoredObject>;

  /** Reads a whole object and checks its sha256 (IntegrityError); missing -> ObjectNotFoundError. */
  getBuffer(key: string, expectedSha256: string): Promise<Buffer>;

  /**
   * Streams an object (missing -> ObjectNotFoundError, before any byte). With `expectedSha256`
   * the stream fails with IntegrityError at its end if the bytes were not the expected ones.
   */
  getStream(key: string, expectedSha256?: string): Promise<Readable>;

  /** Size of an object, or null if there is none under `key`. */
  stat(key: string): Promise<ObjectStat | null>;

  /** Removes one object; removing a missing object is not an error (as in S3). */
  remove(key: string): Promise<void>;

  /** Removes every object whose key starts with `prefix` (which must not be empty). */
  removePrefix(prefix: string): Promise<void>;

  /** Keys starting with `prefix` (a plain string prefix, as in S3), sorted. */
  list(prefix: string): Promise<string[]>;

  /** URL a credential-less holder can GET `key` with, for `ttlSeconds` (1 s to 7 days). */
  presignedGetUrl(key: string, ttlSeconds: number): Promise<string>;

  /** URL a credential-less holder can PUT `key` with, for `ttlSeconds` (1 s to 7 days). */
  presignedPutUrl(key: string, ttlSeconds: number): Promise<string>;
}

/** What a write stored: enough to reference and later verify the object. */
export interface StoredObject {
  key: string;
  /** Lower-case hex sha256 of the stored bytes. */
  sha256: string;
  bytes: number;
}

export interface PutStreamOptions {
  /** Refuse (ObjectTooLargeError) a stream longer than this many bytes. */
  maxBytes?: number;
  contentType?: string;
}

export interface ObjectStat {
  bytes: number;
}

/** S3 caps presigned URLs at seven days; both stores apply the same bounds. */
export const MAX_PRESIGN_TTL_SECONDS = 7 * 24 * 3600;

export function assertValidTtl(ttlSeconds: number): void {
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_PRESIGN_TTL_SECONDS) {
    throw new RangeError(
      `presigned URL lifetime must be a whole number of seconds in 1..${MAX_PRESIGN_TTL_SECONDS}`,
    );
  }
}

export function assertValidMaxBytes(maxBytes: number | undefined): void {
  if (maxBytes !== undefined && (!Number.isSafeInteger(maxBytes) || maxBytes < 0)) {
    throw new RangeError(`maxBytes must be a non-negative integer, got ${maxBytes}`);
  }
}
