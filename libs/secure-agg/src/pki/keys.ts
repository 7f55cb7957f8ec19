import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import forge from 'node-forge';

export const RSA_BITS = 2048;
export const MIN_RSA_BITS = 2048;

/**
 * Default PBKDF2-HMAC-SHA256 iterations for an exported private key. forge runs PBKDF2 in
 * JavaScript when it encrypts: 100 000 iterations take ~0.75 s here (2 048, forge's default, take
 * 80 ms and are too few for a CA key). Import decrypts with Node's native PBKDF2: 33 ms for the
 * same key where forge's `decryptRsaPrivateKey` takes 0.87 s.
 */
export const DEFAULT_KEY_ITERATIONS = 100_000;

/**
 * A fresh RSA-2048 key pair as forge keys. forge's `generateKeyPair` hands the work to Node's
 * `crypto.generateKeyPairSync` (OpenSSL) when it may: pure-JavaScript mode off, no custom PRNG,
 * e = 65537. That path took 90-580 ms in eight runs here (RSA key generation time depends on how
 * soon primes turn up); forge's own JavaScript prime search took 0.7-1.9 s in three, so these
 * conditions are kept on purpose and pure-JavaScript mode is refused outright.
 */
export function generateRsaKeyPair(): forge.pki.rsa.KeyPair {
  // `forge.options` exists at run time but is missing from @types/node-forge.
  if ((forge as unknown as { options?: { usePureJavaScript?: boolean } }).options?.usePureJavaScript) {
    throw new Error('forge.options.usePureJavaScript is set: RSA key generation would take seconds');
  }
  return forge.pki.rsa.generateKeyPair({ bits: RSA_BITS, e: 0x10001 });
}

/** The same private key as a Node KeyObject, for the fast envelope signatures. */
export function toNodePrivateKey(key: forge.pki.rsa.PrivateKey): KeyObject {
  return createPrivateKey(forge.pki.privateKeyToPem(key));
}

/** The same public key as a Node KeyObject, for the fast envelope verification. */
export function toNodePublicKey(key: forge.pki.rsa.PublicKey): KeyObject {
  return createPublicKey(forge.pki.publicKeyToPem(key));
}

export function sameRsaPublicKey(a: forge.pki.rsa.PublicKey, b: forge.pki.rsa.PublicKey): boolean {
  return a.n.equals(b.n) && a.e.equals(b.e);
}

function assertPassphrase(passphrase: string): void {
  if (typeof passphrase !== 'string' || passphrase.length < 8) {
    throw new RangeError('the passphrase must be at least 8 characters long');
  }
}

/**
 * PKCS#8 EncryptedPrivateKeyInfo PEM (PBES2: PBKDF2-HMAC-SHA256 + AES-256-CBC), by forge's
 * `pki.encryptRsaPrivateKey`. Any OpenSSL-based tool can read it back.
 */
export function encryptPrivateKey(
  key: forge.pki.rsa.PrivateKey,
  passphrase: string,
  iterations = DEFAULT_KEY_ITERATIONS,
): string {
  assertPassphrase(passphrase);
  if (!Number.isSafeInteger(iterations) || iterations < 10_000) {
    throw new RangeError('use at least 10 000 PBKDF2 iterations');
  }
  return forge.pki.encryptRsaPrivateKey(key, passphrase, {
    algorithm: 'aes256',
    count: iterations,
    prfAlgorithm: 'sha256',
  });
}

/**
 * Decrypts `encryptPrivateKey`'s output. Node's crypto does the decryption (native PBKDF2: 33 ms
 * where forge's JavaScript PBKDF2 takes 0.87 s) and hands forge the key, in memory only.
 */
export function decryptPrivateKey(encryptedPem: string, passphrase: string): forge.pki.rsa.PrivateKey {
  assertPassphrase(passphrase);
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: encryptedPem, format: 'pem', passphrase });
  } catch {
    throw new Error('cannot decrypt the private key: wrong passphrase or damaged PEM');
  }
  if (key.asymmetricKeyType !== 'rsa') throw new Error('the private key is not an RSA key');
  return forge.pki.privateKeyFromPem(key.export({ type: 'pkcs8', format: 'pem' }).toString());
}
