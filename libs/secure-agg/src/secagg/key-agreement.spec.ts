import { describe, expect, it } from 'vitest';
import { ProtocolViolation } from './errors';
import { agree, generateX25519, open, seal, x25519FromSecret, type ShareAad } from './key-agreement';
import { reconstruct, splitAmong } from './shamir';
import { bytesEqual } from './bytes';

const ctx = { federationId: 'f', epoch: 0, a: 'alice', b: 'bob' };

describe('X25519 key agreement', () => {
  it('both ends derive the same key; other purposes, epochs or pairs derive other keys', () => {
    const a = generateX25519();
    const b = generateX25519();
    const ab = agree(a.privateKey, b.publicKey, { ...ctx, purpose: 'pair-seed' });
    const ba = agree(b.privateKey, a.publicKey, { ...ctx, a: 'bob', b: 'alice', purpose: 'pair-seed' });
    expect(ab).toEqual(ba);
    expect(ab).toHaveLength(32);
    expect(agree(a.privateKey, b.publicKey, { ...ctx, purpose: 'share-encryption' })).not.toEqual(ab);
    expect(agree(a.privateKey, b.publicKey, { ...ctx, epoch: 1, purpose: 'pair-seed' })).not.toEqual(ab);
    expect(agree(a.privateKey, b.publicKey, { ...ctx, b: 'carol', purpose: 'pair-seed' })).not.toEqual(ab);
  });

  it('a raw secret re-imports to the same key pair (reconstruction after dropout)', () => {
    const a = generateX25519();
    expect(x25519FromSecret(a.secret).publicKey).toEqual(a.publicKey);
  });

  it('refuses a low-order public key', () => {
    const a = generateX25519();
    expect(() => agree(a.privateKey, new Uint8Array(32), { ...ctx, purpose: 'pair-seed' })).toThrow(
      ProtocolViolation,
    );
  });
});

describe('share encryption (AES-256-GCM)', () => {
  const key = new Uint8Array(32).fill(7);
  const aad: ShareAad = {
    kind: 'b-share',
    federationId: 'f',
    epoch: 0,
    round: 3,
    sender: 'alice',
    recipient: 'bob',
  };

  it('round-trips', () => {
    const pt = Uint8Array.from({ length: 33 }, (_, i) => i);
    expect(open(key, seal(key, pt, aad), aad)).toEqual(pt);
  });

  it('refuses a flipped bit, another round, recipient or kind', () => {
    const sealed = seal(key, new Uint8Array(33), aad);
    const bad = sealed.slice();
    bad[20] ^= 1;
    expect(() => open(key, bad, aad)).toThrow(/does not authenticate/);
    expect(() => open(key, sealed, { ...aad, round: 4 })).toThrow(ProtocolViolation);
    expect(() => open(key, sealed, { ...aad, recipient: 'carol' })).toThrow(ProtocolViolation);
    expect(() => open(key, sealed, { ...aad, kind: 's-share' })).toThrow(ProtocolViolation);
  });
});

describe('Shamir t-of-n', () => {
  const holders = ['a', 'b', 'c', 'd', 'e'];

  it('any t shares reconstruct; t - 1 do not', async () => {
    const secret = generateX25519().secret;
    const shares = await splitAmong(secret, holders, 3);
    const check = (s: Uint8Array) => bytesEqual(s, secret);
    expect(await reconstruct([shares.get('a')!, shares.get('c')!, shares.get('e')!], 3, 32, check)).toEqual(
      secret,
    );
    expect(await reconstruct([shares.get('b')!, shares.get('d')!], 3, 32, check)).toBeUndefined();
  });

  it('a corrupted share is outvoted when more than t shares arrived', async () => {
    const secret = generateX25519().secret;
    const shares = [...(await splitAmong(secret, holders, 3)).values()];
    shares[1] = shares[1].slice();
    shares[1][4] ^= 0x55;
    const pub = x25519FromSecret(secret).publicKey;
    const got = await reconstruct(shares, 3, 32, (s) => bytesEqual(x25519FromSecret(s).publicKey, pub));
    expect(got).toEqual(secret);
  });
});
