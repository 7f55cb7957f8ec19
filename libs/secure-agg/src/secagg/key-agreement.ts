import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hkdfSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { ByteWriter, bytesEqual } from './bytes';
import { ProtocolViolation } from './errors';

/**
 * Key agreement and share encryption between institutions.
 *
 * X25519 (Node's OpenSSL) for both key pairs an institution advertises: `c` for encrypting
 * Shamir shares to a peer, `s` for the pairwise mask seeds. Raw 32-byte keys travel in messages;
 * a private key is 32 random bytes (so it can be Shamir-shared and re-imported after
 * reconstruction). The Diffie-Hellman output goes through HKDF-SHA256 with a label naming the
 * purpose, the federation, the key epoch and both institutions, so a seed or key derived for
 * one use is never valid for another.
 *
 * Shares travel through the aggregator encrypted with AES-256-GCM under the c-derived pair key:
 * the aggregator routes them but cannot read or alter them. A random 96-bit nonce per message
 * (few messages per key: collisions are out of reach) and associated data binding sender,
 * recipient, owner, federation, epoch, round and purpose, so a ciphertext moved anywhere else fails.
 */

export type RandomSource = (n: number) => Uint8Array;
export const secureRandom: RandomSource = (n) => new Uint8Array(randomBytes(n));

const PKCS8_X25519 = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20,
]);
const SPKI_X25519 = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00]);
const KDF_SALT = new TextEncoder().encode('scprivacy/secagg/kdf/v1');

export interface X25519KeyPair {
  /** Raw 32-byte private key (secret; Shamir-shared for `s`). */
  readonly secret: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly privateKey: KeyObject;
}

export function x25519FromSecret(secret: Uint8Array): X25519KeyPair {
  if (secret.length !== 32) throw new RangeError(`x25519: secret must be 32 bytes, got ${secret.length}`);
  const der = new Uint8Array(PKCS8_X25519.length + 32);
  der.set(PKCS8_X25519);
  der.set(secret, PKCS8_X25519.length);
  const privateKey = createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return {
    secret: Uint8Array.from(secret),
    publicKey: new Uint8Array(spki.subarray(SPKI_X25519.length)),
    privateKey,
  };
}

export function generateX25519(random: RandomSource = secureRandom): X25519KeyPair {
  return x25519FromSecret(random(32));
}

function publicKeyObject(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new ProtocolViolation('malformed', `x25519 public key of ${raw.length} bytes`);
  const der = new Uint8Array(SPKI_X25519.length + 32);
  der.set(SPKI_X25519);
  der.set(raw, SPKI_X25519.length);
  return createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
}

/** Context of a derived key: what it is for and between whom. */
export interface KdfContext {
  purpose: 'share-encryption' | 'pair-seed';
  federationId: string;
  epoch: number;
  /** The two institutions, in any order (the label sorts them: both ends derive the same key). */
  a: string;
  b: string;
}

function kdfInfo(ctx: KdfContext): Uint8Array {
  const [lo, hi] = ctx.a < ctx.b ? [ctx.a, ctx.b] : [ctx.b, ctx.a];
  return new ByteWriter().str(ctx.purpose).str(ctx.federationId).u32(ctx.epoch).str(lo).str(hi).finish();
}

/** HKDF-SHA256(X25519(mine, theirs), label(ctx)) -> 32 bytes. Refuses the all-zero secret. */
export function agree(mine: KeyObject, theirs: Uint8Array, ctx: KdfContext): Uint8Array {
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey: mine, publicKey: publicKeyObject(theirs) });
  } catch (e) {
    throw new ProtocolViolation('setup', `x25519 agreement failed (${(e as Error).message})`);
  }
  if (bytesEqual(shared, new Uint8Array(32))) {
    throw new ProtocolViolation('setup', 'x25519 agreement gave the zero secret (low-order public key)');
  }
  return new Uint8Array(hkdfSync('sha256', shared, KDF_SALT, kdfInfo(ctx), 32));
}

/** Associated data of a share ciphertext: everything that decides where it may be used. */
export interface ShareAad {
  kind: 's-share' | 'b-share';
  federationId: string;
  epoch: number;
  round: number;
  sender: string;
  recipient: string;
}

function aadBytes(a: ShareAad): Uint8Array {
  return new ByteWriter()
    .str('scprivacy/secagg/share/v1')
    .str(a.kind)
    .str(a.federationId)
    .u32(a.epoch)
    .u32(a.round)
    .str(a.sender)
    .str(a.recipient)
    .finish();
}

/** nonce (12) || ciphertext || tag (16). */
export function seal(
  key: Uint8Array,
  plaintext: Uint8Array,
  aad: ShareAad,
  random: RandomSource = secureRandom,
): Uint8Array {
  const nonce = random(12);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(aadBytes(aad));
  const body = Buffer.concat([c.update(plaintext), c.final()]);
  const out = new Uint8Array(12 + body.length + 16);
  out.set(nonce);
  out.set(body, 12);
  out.set(c.getAuthTag(), 12 + body.length);
  return out;
}

export function open(key: Uint8Array, sealed: Uint8Array, aad: ShareAad): Uint8Array {
  if (sealed.length < 28)
    throw new ProtocolViolation('decryption-failed', `${aad.kind} ciphertext too short`);
  try {
    const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
    d.setAAD(aadBytes(aad));
    d.setAuthTag(sealed.subarray(sealed.length - 16));
    return new Uint8Array(Buffer.concat([d.update(sealed.subarray(12, sealed.length - 16)), d.final()]));
  } catch {
    throw new ProtocolViolation(
      'decryption-failed',
      `${aad.kind} from ${aad.sender} to ${aad.recipient} (round ${aad.round}) does not authenticate`,
    );
  }
}
