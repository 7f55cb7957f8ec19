import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { AuthFailureLimiter, TooManyAuthFailures } from './auth-failure-limiter';
import { clientKey } from './client-address';
import { clientAddress, compileTrustProxy, isTrustProxySetting } from './trust-proxy';

function upgrade(remoteAddress: string, forwardedFor?: string): IncomingMessage {
  return {
    socket: { remoteAddress },
    connection: { remoteAddress },
    headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {},
  } as unknown as IncomingMessage;
}

describe('clientKey', () => {
  it('should count an IPv4 client (also IPv4-mapped) by its address', () => {
    expect(clientKey({ ip: '203.0.113.7' })).toBe('203.0.113.7');
    expect(clientKey({ ip: '::ffff:203.0.113.7' })).toBe('203.0.113.7');
    expect(clientKey({ socket: { remoteAddress: '127.0.0.2' } })).toBe('127.0.0.2');
  });

  it('should count an IPv6 client by its /64, so rotating addresses within it does not help', () => {
    expect(clientKey({ ip: '2001:db8:1:2:aaaa::1' })).toBe('2001:db8:1:2::/64');
    expect(clientKey({ ip: '2001:db8:1:2:bbbb:cccc:dddd:eeee' })).toBe('2001:db8:1:2::/64');
    expect(clientKey({ ip: '2001:db8::1' })).toBe('2001:db8:0:0::/64');
  });
});

describe('trust proxy', () => {
  it('should ignore X-Forwarded-For unless the peer is trusted', () => {
    const req = upgrade('10.0.0.5', '198.51.100.9');
    expect(clientAddress(req, compileTrustProxy(false))).toBe('10.0.0.5');
    expect(clientAddress(req, compileTrustProxy('10.0.0.0/8'))).toBe('198.51.100.9');
    expect(clientAddress(req, compileTrustProxy('1'))).toBe('198.51.100.9');
    expect(clientAddress(req, compileTrustProxy('loopback'))).toBe('10.0.0.5');
  });

  it('should accept Express-style values and refuse others', () => {
    for (const ok of ['off', 'true', '2', 'loopback', 'loopback, 10.0.0.0/8', 'uniquelocal']) {
      expect(isTrustProxySetting(ok), ok).toBe(true);
    }
    expect(isTrustProxySetting('proxy.example.org')).toBe(false);
  });
});

describe('AuthFailureLimiter', () => {
  it('should block a client after the allowed failures, and only that client', async () => {
    const limiter = new AuthFailureLimiter(3, 120);
    for (let i = 0; i < 3; i++) {
      await limiter.assertAllowed('a');
      await limiter.recordFailure('a');
    }
    const error = await limiter.assertAllowed('a').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TooManyAuthFailures);
    expect((error as TooManyAuthFailures).getStatus()).toBe(429);
    expect((error as TooManyAuthFailures).retryAfterSeconds).toBeGreaterThan(60);
    await expect(limiter.assertAllowed('b')).resolves.toBeUndefined();
  });

  it('should never block when turned off (0)', async () => {
    const limiter = new AuthFailureLimiter(0, 60);
    for (let i = 0; i < 100; i++) await limiter.recordFailure('a');
    await expect(limiter.assertAllowed('a')).resolves.toBeUndefined();
  });
});
