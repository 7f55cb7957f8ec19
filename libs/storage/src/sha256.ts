import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { IntegrityError } from './errors';

/** Content hashes are lower-case hex sha256 everywhere (job messages, database rows, errors). */
export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Normalises an expected hash, refusing anything that is not 64 hex digits (a bug, not tampering). */
export function normaliseSha256(sha256: string, key: string): string {
  if (typeof sha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(sha256)) {
    throw new TypeError(
      `expected sha256 of object "${key}" must be 64 hex digits, got ${JSON.stringify(sha256)}`,
    );
  }
  return sha256.toLowerCase();
}

/** Throws IntegrityError unless `data` hashes to `expected`. */
export function verifySha256(key: string, data: Uint8Array, expected: string): void {
  const want = normaliseSha256(expected, key);
  const actual = sha256Hex(data);
  if (actual !== want) throw new IntegrityError(key, want, actual);
}

/**
 * Pass-through that hashes what flows and fails the stream with IntegrityError at its end if the
 * hash is not the expected one, so a streamed read is verified without holding it in memory.
 * (The consumer has already seen the bytes by then: act on them only once the stream has ended.)
 */
export function verifyingStream(key: string, expected: string): Transform {
  const want = normaliseSha256(expected, key);
  const hash: Hash = createHash('sha256');
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      hash.update(chunk);
      callback(null, chunk);
    },
    flush(callback: TransformCallback) {
      const actual = hash.digest('hex');
      callback(actual === want ? null : new IntegrityError(key, want, actual));
    },
  });
}

/** Chunks of a byte stream as Buffers (object-mode streams may yield Uint8Array or strings). */
export function asBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  throw new TypeError(`a byte stream yielded ${typeof chunk}, not bytes`);
}

/** Zero-copy Buffer view of a Uint8Array. */
export function bufferView(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
