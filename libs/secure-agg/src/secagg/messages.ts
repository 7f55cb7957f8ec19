import { ByteReader, ByteWriter } from './bytes';
import { ProtocolViolation } from './errors';
import type { SignedEnvelope } from '../envelope';

/**
 * The protocol's message bodies and their canonical encodings. Every body starts with a tag
 * naming its kind and version, and repeats the key epoch; the envelope around it binds the
 * federation, round, phase, sender and recipient, and carries the signature.
 *
 * Set-up (round 0):
 *   advertise-keys  institution -> server -> everyone: its two X25519 public keys (c, s), plus
 *                   the roster, threshold, clip, lane bits, mask degree and digest it was configured with.
 *   share-keys      institution u -> server -> institution v: AEAD(share_v of s_u).
 * Each round r:
 *   masked-input    u -> server: digest of y_u (the vector travels beside it), its length, weight,
 *                   clipped-value count, the participants it masked against, a commitment to
 *                   b_u^r, and AEAD(share_v of b_u^r) for every other participant v.
 *   unmask request  server -> survivor v: survivors S, dropped D, the b-share ciphertexts for v.
 *   unmask          v -> server: S and D as v understood them, v's shares of b_u^r (u in S)
 *                   and of s_w (w in D).
 */

export interface AdvertiseKeys {
  epoch: number;
  institution: string;
  roster: string[];
  threshold: number;
  clip: number;
  /** Lane width of the masked vectors (8, 16 or 32). */
  bits: number;
  maskDegree: number;
  vectorDigest: string;
  cPublic: Uint8Array;
  sPublic: Uint8Array;
}

export function encodeAdvertiseKeys(m: AdvertiseKeys): Uint8Array {
  return new ByteWriter()
    .str('advertise-keys/v2')
    .u32(m.epoch)
    .str(m.institution)
    .strs(m.roster)
    .u32(m.threshold)
    .f64(m.clip)
    .u32(m.bits)
    .u32(m.maskDegree)
    .str(m.vectorDigest)
    .bytes(m.cPublic)
    .bytes(m.sPublic)
    .finish();
}

export function decodeAdvertiseKeys(b: Uint8Array): AdvertiseKeys {
  const r = new ByteReader(b, 'advertise-keys');
  r.tag('advertise-keys/v2');
  const m: AdvertiseKeys = {
    epoch: r.u32(),
    institution: r.str(),
    roster: r.strs(),
    threshold: r.u32(),
    clip: r.f64(),
    bits: r.u32(),
    maskDegree: r.u32(),
    vectorDigest: r.str(),
    cPublic: r.fixed(32),
    sPublic: r.fixed(32),
  };
  r.end();
  return m;
}

export interface ShareKeys {
  epoch: number;
  owner: string;
  recipient: string;
  /** AEAD(share of the owner's s key), 'share-encryption' key of (owner, recipient). */
  sealed: Uint8Array;
}

export function encodeShareKeys(m: ShareKeys): Uint8Array {
  return new ByteWriter()
    .str('share-keys/v1')
    .u32(m.epoch)
    .str(m.owner)
    .str(m.recipient)
    .bytes(m.sealed)
    .finish();
}

export function decodeShareKeys(b: Uint8Array): ShareKeys {
  const r = new ByteReader(b, 'share-keys');
  r.tag('share-keys/v1');
  const m: ShareKeys = { epoch: r.u32(), owner: r.str(), recipient: r.str(), sealed: r.bytes() };
  r.end();
  return m;
}

export interface SealedFor {
  /** The other institution: the recipient (in a masked input) or the owner (in an unmask request). */
  peer: string;
  sealed: Uint8Array;
}

export interface MaskedInputHeader {
  epoch: number;
  institution: string;
  round: number;
  /** The participants the masks were made against, in roster order. */
  participants: string[];
  length: number;
  weight: number;
  outOfRange: number;
  digest: Uint8Array;
  bCommitment: Uint8Array;
  bShares: SealedFor[];
}

export function encodeMaskedInputHeader(m: MaskedInputHeader): Uint8Array {
  const w = new ByteWriter()
    .str('masked-input/v1')
    .u32(m.epoch)
    .str(m.institution)
    .u32(m.round)
    .strs(m.participants)
    .u32(m.length)
    .f64(m.weight)
    .u32(m.outOfRange)
    .bytes(m.digest)
    .bytes(m.bCommitment)
    .u32(m.bShares.length);
  for (const s of m.bShares) w.str(s.peer).bytes(s.sealed);
  return w.finish();
}

export function decodeMaskedInputHeader(b: Uint8Array): MaskedInputHeader {
  const r = new ByteReader(b, 'masked-input');
  r.tag('masked-input/v1');
  const m: MaskedInputHeader = {
    epoch: r.u32(),
    institution: r.str(),
    round: r.u32(),
    participants: r.strs(),
    length: r.u32(),
    weight: r.f64(),
    outOfRange: r.u32(),
    digest: r.fixed(32),
    bCommitment: r.fixed(32),
    bShares: [],
  };
  const n = r.u32();
  if (n > 255) throw new ProtocolViolation('malformed', `masked-input: ${n} b-shares`);
  for (let i = 0; i < n; i++) m.bShares.push({ peer: r.str(), sealed: r.bytes() });
  r.end();
  return m;
}

/** What an institution sends in a round: the signed header and, beside it, the masked words. */
export interface MaskedInput {
  envelope: SignedEnvelope;
  vector: Uint32Array;
}

/** Server -> survivor. Not signed: the survivor's own checks are what protect it. */
export interface UnmaskRequest {
  epoch: number;
  round: number;
  survivors: string[];
  dropped: string[];
  /** Sealed shares of b_u^r addressed to this survivor, one per other survivor u. */
  bShares: SealedFor[];
}

export function encodeUnmaskRequest(m: UnmaskRequest): Uint8Array {
  const w = new ByteWriter()
    .str('unmask-request/v1')
    .u32(m.epoch)
    .u32(m.round)
    .strs(m.survivors)
    .strs(m.dropped)
    .u32(m.bShares.length);
  for (const s of m.bShares) w.str(s.peer).bytes(s.sealed);
  return w.finish();
}

export function decodeUnmaskRequest(b: Uint8Array): UnmaskRequest {
  const r = new ByteReader(b, 'unmask-request');
  r.tag('unmask-request/v1');
  const m: UnmaskRequest = {
    epoch: r.u32(),
    round: r.u32(),
    survivors: r.strs(),
    dropped: r.strs(),
    bShares: [],
  };
  const n = r.u32();
  if (n > 255) throw new ProtocolViolation('malformed', `unmask-request: ${n} b-shares`);
  for (let i = 0; i < n; i++) m.bShares.push({ peer: r.str(), sealed: r.bytes() });
  r.end();
  return m;
}

export interface OwnedShare {
  owner: string;
  share: Uint8Array;
}

export interface UnmaskResponse {
  epoch: number;
  institution: string;
  round: number;
  survivors: string[];
  dropped: string[];
  bShares: OwnedShare[];
  sShares: OwnedShare[];
}

export function encodeUnmaskResponse(m: UnmaskResponse): Uint8Array {
  const w = new ByteWriter()
    .str('unmask/v1')
    .u32(m.epoch)
    .str(m.institution)
    .u32(m.round)
    .strs(m.survivors)
    .strs(m.dropped)
    .u32(m.bShares.length);
  for (const s of m.bShares) w.str(s.owner).bytes(s.share);
  w.u32(m.sShares.length);
  for (const s of m.sShares) w.str(s.owner).bytes(s.share);
  return w.finish();
}

export function decodeUnmaskResponse(b: Uint8Array): UnmaskResponse {
  const r = new ByteReader(b, 'unmask');
  r.tag('unmask/v1');
  const m: UnmaskResponse = {
    epoch: r.u32(),
    institution: r.str(),
    round: r.u32(),
    survivors: r.strs(),
    dropped: r.strs(),
    bShares: [],
    sShares: [],
  };
  for (const list of [m.bShares, m.sShares]) {
    const n = r.u32();
    if (n > 255) throw new ProtocolViolation('malformed', `unmask: ${n} shares`);
    for (let i = 0; i < n; i++) list.push({ owner: r.str(), share: r.bytes() });
  }
  r.end();
  return m;
}
