import { createCipheriv, createHash } from 'node:crypto';
import type { RandomSource } from '../key-agreement';

/**
 * TEST-ONLY deterministic randomness (AES-256-CTR keyed by SHA-256 of a seed string), so
 * statistical tests run on the same keys every time instead of failing at their p-level once in a while.
 */
export function seededRandom(seed: string): RandomSource {
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return (n) => new Uint8Array(cipher.update(Buffer.alloc(n)));
}
