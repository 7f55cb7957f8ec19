import { createHash, randomBytes } from 'node:crypto';

/** Readable prefix: a leaked token is recognisable (and greppable by secret scanners). */
export const TOKEN_PREFIX = 'scp_';

/** A new access token: 32 random bytes, base64url, after the prefix. Shown once, never stored. */
export function generateToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/**
 * What the database keeps of a token (AccessToken.tokenHash): its sha256, hex. A plain hash
 * suffices (no salt, no slow KDF) because the token carries 256 random bits, and it keeps the
 * lookup a single indexed equality.
 */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
