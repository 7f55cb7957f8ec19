import { createHash } from 'node:crypto';
import { ByteWriter } from './bytes';

/**
 * The digest an institution signs for its masked vector. Envelope signatures cover small payloads;
 * the 4N-byte vector travels beside its signed SHA-256 digest (a signature over 40 MB would hash it
 * anyway, and a signer may be slow at hashing). The digest is a two-level hash over 1 MiB segments,
 * so threads that each masked a segment-aligned range can hash their own segments:
 *
 *   digest = SHA-256("scprivacy/secagg/vector/v1" || length || SHA-256(seg_0) || SHA-256(seg_1) ...)
 *
 * Words are hashed as their little-endian bytes (the wire format).
 */

export const DIGEST_SEGMENT_WORDS = 1 << 18;

/** SHA-256 of each whole segment in [firstSegment, endSegment). */
export function segmentDigests(words: Uint32Array, firstSegment = 0, endSegment?: number): Uint8Array[] {
  const segments = Math.ceil(words.length / DIGEST_SEGMENT_WORDS);
  const end = Math.min(endSegment ?? segments, segments);
  const bytes = new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
  const out: Uint8Array[] = [];
  for (let s = firstSegment; s < end; s++) {
    const lo = s * DIGEST_SEGMENT_WORDS * 4;
    const hi = Math.min(bytes.length, lo + DIGEST_SEGMENT_WORDS * 4);
    out.push(new Uint8Array(createHash('sha256').update(bytes.subarray(lo, hi)).digest()));
  }
  return out;
}

export function combineSegmentDigests(length: number, segments: readonly Uint8Array[]): Uint8Array {
  const expected = Math.ceil(length / DIGEST_SEGMENT_WORDS);
  if (segments.length !== expected)
    throw new RangeError(`vector digest: ${segments.length} segments, expected ${expected}`);
  const h = createHash('sha256').update(
    new ByteWriter().str('scprivacy/secagg/vector/v1').u32(length).finish(),
  );
  for (const s of segments) h.update(s);
  return new Uint8Array(h.digest());
}

export function vectorDigest(words: Uint32Array): Uint8Array {
  return combineSegmentDigests(words.length, segmentDigests(words));
}
