import { createHash } from 'node:crypto';
import { pipeline, type Readable } from 'node:stream';
import { Client } from 'minio';
import { ObjectNotFoundError, ObjectTooLargeError, StorageError } from './errors';
import { assertValidKey, assertValidPrefix } from './object-key';
import { parsePublicEndpoint } from './public-endpoint';
import {
  assertValidMaxBytes,
  assertValidTtl,
  type ObjectStat,
  type ObjectStore,
  type PutStreamOptions,
  type StoredObject,
} from './object-store';
import { asBuffer, bufferView, verifyingStream, verifySha256 } from './sha256';

export interface MinioStoreOptions {
  endPoint: string;
  port: number;
  useSSL: boolean;
  accessKey: string;
  secretKey: string;
  bucket: string;
  /** Defaults to us-east-1 (MinIO's default); giving it spares a GetBucketLocation per presign. */
  region?: string;
  /**
   * Upload part size (5 MiB to 5 GiB, default 64 MiB): objects up to this size go up in one PUT,
   * larger streams as a multipart upload. It is also the memory one upload holds at a time.
   */
  partSize?: number;
  /**
   * The store's public address (S3_PUBLIC_ENDPOINT, https://host[:port]): presigned URLs are
   * signed for it instead of endPoint:port, for workers that reach the store from outside the
   * cluster (a signature covers the Host header, so a URL cannot simply be rewritten later).
   */
  publicEndpoint?: string;
}

const MiB = 1024 * 1024;
const DEFAULT_PART_SIZE = 64 * MiB;
const MIN_PART_SIZE = 5 * MiB; // S3's minimum for every part but the last
const MAX_PART_SIZE = 5 * 1024 * MiB;
const MAX_PARTS = 10_000;
const DELETE_BATCH = 1000; // S3's DeleteObjects limit

/** S3 error code of a minio client error, if any. */
function s3Code(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
const isMissing = (err: unknown) => ['NoSuchKey', 'NotFound'].includes(s3Code(err) ?? '');

/**
 * ObjectStore on MinIO (any S3 endpoint) through the `minio` client. The credentials stay in the
 * process that builds this store (api / aggregator); workers only ever get presigned URLs.
 */
export class MinioObjectStore implements ObjectStore {
  readonly bucket: string;
  private readonly client: Client;
  /** Signs the presigned URLs: `client`, or one configured with the public endpoint. */
  private readonly presigner: Client;
  private readonly region: string;
  private readonly partSize: number;

  constructor(options: MinioStoreOptions) {
    const partSize = options.partSize ?? DEFAULT_PART_SIZE;
    if (!Number.isInteger(partSize) || partSize < MIN_PART_SIZE || partSize > MAX_PART_SIZE) {
      throw new RangeError(`partSize must be between ${MIN_PART_SIZE} and ${MAX_PART_SIZE} bytes`);
    }
    this.bucket = options.bucket;
    this.region = options.region ?? 'us-east-1';
    this.partSize = partSize;
    this.client = new Client({
      endPoint: options.endPoint,
      port: options.port,
      useSSL: options.useSSL,
      accessKey: options.accessKey,
      secretKey: options.secretKey,
      region: this.region,
      // Same threshold as ours, so the client never starts a multipart upload of its own (its
      // version resumes any earlier unfinished upload of the key and needs ListMultipartUploads).
      partSize,
    });
    this.presigner = options.publicEndpoint
      ? // Only ever signs: the region is given, so presigning makes no GetBucketLocation request
        // (the public address may not even be reachable from inside the cluster).
        new Client({
          ...publicEndpoint(options.publicEndpoint),
          accessKey: options.accessKey,
          secretKey: options.secretKey,
          region: this.region,
        })
      : this.client;
  }

  /** Creates the bucket unless it exists (safe to call from several processes at start-up). */
  async ensureBucket(): Promise<void> {
    if (await this.client.bucketExists(this.bucket)) return;
    try {
      await this.client.makeBucket(this.bucket, this.region);
    } catch (err) {
      // Lost a creation race with another process: fine if the bucket is there now.
      if (!(await this.client.bucketExists(this.bucket))) throw err;
    }
  }

  async putBuffer(key: string, data: Uint8Array, opts: { contentType?: string } = {}): Promise<StoredObject> {
    assertValidKey(key);
    return this.upload(key, [bufferView(data)], opts.contentType);
  }

  async putStream(key: string, stream: Readable, opts: PutStreamOptions = {}): Promise<StoredObject> {
    assertValidKey(key);
    assertValidMaxBytes(opts.maxBytes);
    return this.upload(key, stream, opts.contentType, opts.maxBytes);
  }

  async getBuffer(key: string, expectedSha256: string): Promise<Buffer> {
    const stream = await this.getStream(key);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(asBuffer(chunk));
    const data = Buffer.concat(chunks);
    verifySha256(key, data, expectedSha256);
    return data;
  }

  async getStream(key: string, expectedSha256?: string): Promise<Readable> {
    assertValidKey(key);
    const verifier = expectedSha256 === undefined ? undefined : verifyingStream(key, expectedSha256);
    let stream: Readable;
    try {
      stream = await this.client.getObject(this.bucket, key);
    } catch (err) {
      if (isMissing(err)) throw new ObjectNotFoundError(key, { cause: err });
      throw err;
    }
    if (!verifier) return stream;
    return pipeline(stream, verifier, () => undefined);
  }

  async stat(key: string): Promise<ObjectStat | null> {
    assertValidKey(key);
    try {
      const info = await this.client.statObject(this.bucket, key);
      return { bytes: info.size };
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async remove(key: string): Promise<void> {
    assertValidKey(key);
    await this.client.removeObject(this.bucket, key);
  }

  async removePrefix(prefix: string): Promise<void> {
    assertValidPrefix(prefix);
    if (prefix === '') throw new StorageError('removePrefix refuses the empty prefix (everything)', prefix);
    const keys = await this.list(prefix);
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const failures = (await this.client.removeObjects(this.bucket, keys.slice(i, i + DELETE_BATCH))).filter(
        (f) => f != null,
      );
      if (failures.length > 0) {
        throw new StorageError(
          `could not remove ${failures.length} object(s) under prefix "${prefix}"`,
          prefix,
        );
      }
    }
  }

  async list(prefix: string): Promise<string[]> {
    assertValidPrefix(prefix);
    const keys: string[] = [];
    for await (const item of this.client.listObjectsV2(this.bucket, prefix, true)) {
      if (item.name) keys.push(item.name);
    }
    return keys.sort();
  }

  async presignedGetUrl(key: string, ttlSeconds: number): Promise<string> {
    assertValidKey(key);
    assertValidTtl(ttlSeconds);
    return this.presigner.presignedGetObject(this.bucket, key, ttlSeconds);
  }

  async presignedPutUrl(key: string, ttlSeconds: number): Promise<string> {
    assertValidKey(key);
    assertValidTtl(ttlSeconds);
    return this.presigner.presignedPutObject(this.bucket, key, ttlSeconds);
  }

  /**
   * Why nothing half-written is ever visible: an object that fits in one part is buffered and sent
   * as one PUT, which S3 applies atomically (so an oversized or failing stream never reaches the
   * server); a larger one goes up as a multipart upload, which becomes an object only at
   * CompleteMultipartUpload, and is aborted on failure. (s3rver cannot abort: its parts stay in
   * its upload folder, still invisible under the key.)
   */
  private async upload(
    key: string,
    source: Iterable<Buffer> | AsyncIterable<unknown>,
    contentType = 'application/octet-stream',
    maxBytes?: number,
  ): Promise<StoredObject> {
    const hash = createHash('sha256');
    const pending: Buffer[] = [];
    let pendingBytes = 0;
    let bytes = 0;
    let uploadId: string | undefined;
    const parts: { part: number; etag: string }[] = [];

    const sendPart = async (body: Buffer) => {
      uploadId ??= await this.client.initiateNewMultipartUpload(this.bucket, key, {
        'Content-Type': contentType,
      });
      const part = parts.length + 1;
      if (part > MAX_PARTS) throw new StorageError(`object "${key}" needs more than ${MAX_PARTS} parts`, key);
      const md5 = createHash('md5').update(body).digest('base64');
      const { etag } = await this.client.uploadPart(
        {
          bucketName: this.bucket,
          objectName: key,
          uploadID: uploadId,
          partNumber: part,
          headers: { 'Content-MD5': md5 },
        },
        body,
      );
      parts.push({ part, etag });
    };

    try {
      // for-await pauses the source while a part uploads (back-pressure) and destroys it on throw.
      for await (const chunk of source) {
        const buf = asBuffer(chunk);
        bytes += buf.length;
        if (maxBytes !== undefined && bytes > maxBytes) throw new ObjectTooLargeError(key, maxBytes);
        hash.update(buf);
        pending.push(buf);
        pendingBytes += buf.length;
        while (pendingBytes > this.partSize) {
          await sendPart(takeBytes(pending, this.partSize));
          pendingBytes -= this.partSize;
        }
      }
      const rest = pending.length === 1 ? pending[0] : Buffer.concat(pending, pendingBytes);
      if (uploadId === undefined) {
        await this.client.putObject(this.bucket, key, rest, rest.length, { 'Content-Type': contentType });
      } else {
        if (rest.length > 0) await sendPart(rest);
        await this.client.completeMultipartUpload(this.bucket, key, uploadId, parts);
      }
    } catch (err) {
      if (uploadId !== undefined) {
        const id = uploadId;
        await this.client.abortMultipartUpload(this.bucket, key, id).catch(() => undefined);
      }
      throw err;
    }
    return { key, sha256: hash.digest('hex'), bytes };
  }
}

function publicEndpoint(value: string) {
  try {
    return parsePublicEndpoint(value);
  } catch (e) {
    throw new RangeError(`publicEndpoint ${(e as Error).message}`);
  }
}

/** Removes and returns the first `n` bytes of a queue of buffers (copying only those). */
function takeBytes(queue: Buffer[], n: number): Buffer {
  const out = Buffer.allocUnsafe(n);
  for (let filled = 0; filled < n;) {
    const head = queue[0];
    const take = Math.min(head.length, n - filled);
    head.copy(out, filled, 0, take);
    filled += take;
    if (take === head.length) queue.shift();
    else queue[0] = head.subarray(take);
  }
  return out;
}
