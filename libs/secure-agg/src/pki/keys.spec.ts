import crypto from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decryptPrivateKey, encryptPrivateKey, generateRsaKeyPair } from './keys';

describe(generateRsaKeyPair.name, () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("should generate RSA-2048 through Node's native key generation, not forge's JavaScript", () => {
    const native = vi.spyOn(crypto, 'generateKeyPairSync');
    const started = performance.now();
    const pair = generateRsaKeyPair();
    const ms = performance.now() - started;
    console.log(`RSA-2048 key pair via forge's native path: ${ms.toFixed(0)} ms`);
    expect(native).toHaveBeenCalledTimes(1);
    expect(native.mock.calls[0][0]).toBe('rsa');
    expect(pair.publicKey.n.bitLength()).toBe(2048);
    expect(ms).toBeLessThan(3000); // 90-580 ms measured; loose for busy CI machines
  });
});

describe(encryptPrivateKey.name, () => {
  it('should write a PBES2 PKCS#8 PEM that Node decrypts back to the same key', () => {
    const { privateKey } = generateRsaKeyPair();
    const pem = encryptPrivateKey(privateKey, 'a long passphrase', 10_000);
    expect(pem).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
    expect(decryptPrivateKey(pem, 'a long passphrase').n.equals(privateKey.n)).toBe(true);
    expect(() => decryptPrivateKey(pem, 'another passphrase')).toThrow(/wrong passphrase/);
  });

  it('should refuse a short passphrase and too few iterations', () => {
    const { privateKey } = generateRsaKeyPair();
    expect(() => encryptPrivateKey(privateKey, 'short')).toThrow(/at least 8/);
    expect(() => encryptPrivateKey(privateKey, 'a long passphrase', 1000)).toThrow(/iterations/);
  });
});
