import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateToken, hashToken } from './tokens';

describe('access tokens', () => {
  it('are 32 random bytes, base64url, after a readable prefix', () => {
    const tokens = new Set(Array.from({ length: 100 }, generateToken));
    expect(tokens.size).toBe(100);
    for (const token of tokens) {
      expect(token).toMatch(/^scp_[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(token.slice(4), 'base64url')).toHaveLength(32);
    }
  });

  it('are stored as their sha256, in hex', () => {
    expect(hashToken('scp_example')).toBe(createHash('sha256').update('scp_example').digest('hex'));
    expect(hashToken('scp_example')).toMatch(/^[0-9a-f]{64}$/);
    expect(hashToken('scp_example')).not.toBe(hashToken('scp_examplf'));
  });
});
