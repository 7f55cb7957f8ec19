/**
 * rediss:// against a real redis-server speaking TLS only (`--port 0 --tls-port`), with a
 * certificate from a CA made here: the consortium's Redis as a site's worker reaches it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLocalCa, writeTlsFiles, type LocalCa } from '../../../scripts/local-stack/local-ca';
import { startTlsRedis, type TlsRedisInstance } from '../../../scripts/local-stack/redis-tls';
import { provisionInstitutionQueueUser } from './acl';
import { redisConnection, redisOptionsFromUrl } from './connection';
import { workerRedisConnection } from './evalsha-only';
import { redisConnectHint, redisTlsFailure, redisTlsOptions } from './redis-tls';

describe('redisTlsOptions', () => {
  it('sends the host name as SNI, but not an IP address (RFC 6066)', () => {
    expect(redisTlsOptions('redis.example.org')).toEqual({ servername: 'redis.example.org' });
    expect(redisTlsOptions('10.0.0.7')).toEqual({});
    expect(redisTlsOptions('::1')).toEqual({});
  });

  it('a CA is trusted besides the system roots, never instead of them', () => {
    const ca = redisTlsOptions('redis.example.org', [
      '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----',
    ]);
    expect(ca.ca).toEqual(expect.arrayContaining([...rootCertificates, expect.stringContaining('\nx\n')]));
    expect(ca).not.toHaveProperty('rejectUnauthorized');
  });

  it('redisOptionsFromUrl uses them for rediss:// and refuses a CA for a plain redis:// URL', () => {
    expect(redisOptionsFromUrl('rediss://u:p@redis.example.org:6380', { ca: ['pem'] }).tls).toMatchObject({
      servername: 'redis.example.org',
      ca: expect.arrayContaining(['pem']),
    });
    expect(redisOptionsFromUrl('redis://redis.example.org').tls).toBeUndefined();
    expect(() =>
      redisOptionsFromUrl('redis://u:secret-pw@redis.example.org', {
        variable: 'WORKER_REDIS_URL',
        ca: ['pem'],
      }),
    ).toThrow(
      /WORKER_REDIS_URL=redis:\/\/u:\*\*\*@redis.example.org: a CA for TLS was given but the URL is plain/,
    );
  });
});

describe('rediss:// to a TLS-only Redis', () => {
  let dir: string;
  let ca: LocalCa;
  let redis: TlsRedisInstance;
  let plainRedis: TlsRedisInstance;
  const open: Redis[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'scp-redis-tls-'));
    ca = createLocalCa();
    // The TLS-only server's certificate names localhost alone; the other's 127.0.0.1 too.
    const files = await writeTlsFiles(join(dir, 'tls'), ca, ['localhost']);
    redis = await startTlsRedis(join(dir, 'redis'), files);
    const withIp = await writeTlsFiles(join(dir, 'tls-ip'), ca, ['localhost', '127.0.0.1']);
    plainRedis = await startTlsRedis(join(dir, 'redis-plain'), withIp, { plainPort: true });
  });
  afterEach(() => {
    for (const c of open.splice(0)) c.disconnect();
  });
  afterAll(async () => {
    await redis?.stop();
    await plainRedis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const connect = (url: string, ca?: string[]) => {
    const c = redisConnection(url, { variable: 'REDIS_URL', ca, maxReconnectDelayMs: 200 });
    open.push(c);
    return c;
  };
  const firstError = (c: Redis) => new Promise<Error>((resolve) => c.once('error', resolve));
  const context = (url: string, caGiven: boolean) => ({
    variable: 'WORKER_REDIS_URL',
    url,
    caVariable: 'WORKER_REDIS_CA_FILE',
    caGiven,
  });

  it('connects with the CA, by host name or by IP address', async () => {
    expect(await connect(redis.tlsUrl, [ca.certificatePem]).ping()).toBe('PONG');
    expect(await connect(`rediss://127.0.0.1:${plainRedis.tlsPort}`, [ca.certificatePem]).ping()).toBe(
      'PONG',
    );
  });

  it('without the CA the certificate does not verify, and the message says what to set', async () => {
    const error = await firstError(connect(redis.tlsUrl));
    expect(redisTlsFailure(error, context(redis.tlsUrl, false))).toMatch(
      new RegExp(
        `^WORKER_REDIS_URL: TLS to Redis at localhost:${redis.tlsPort} failed: .*certificate.*: ` +
          "set WORKER_REDIS_CA_FILE to the PEM file of the consortium's Redis CA$",
      ),
    );
  });

  it('with another CA the message asks whether it is the right one', async () => {
    const error = await firstError(connect(redis.tlsUrl, [createLocalCa().certificatePem]));
    expect(redisTlsFailure(error, context(redis.tlsUrl, true))).toMatch(
      /certificate.*: is WORKER_REDIS_CA_FILE the CA that signed the Redis server's certificate\?$/,
    );
  });

  it('an address the certificate does not carry is named', async () => {
    const url = `rediss://127.0.0.1:${redis.tlsPort}`;
    const error = await firstError(connect(url, [ca.certificatePem]));
    expect(redisTlsFailure(error, context(url, true))).toMatch(
      new RegExp(
        `^WORKER_REDIS_URL: TLS to Redis at 127.0.0.1:${redis.tlsPort} failed: .*127\\.0\\.0\\.1.*` +
          'connect with a host name the certificate was issued for$',
      ),
    );
  });

  it('a plain redis:// connection to the TLS port is reset, with a hint; never served', async () => {
    const url = `redis://127.0.0.1:${redis.tlsPort}`;
    const c = connect(url);
    const error = await firstError(c);
    expect(redisTlsFailure(error, context(url, false))).toBeUndefined();
    expect(redisConnectHint(error, context(url, false))).toBe(
      `WORKER_REDIS_URL: Redis at 127.0.0.1:${redis.tlsPort} closed the connection at once: ` +
        'if that is its TLS port, the URL must start with rediss://',
    );
    expect(c.status).not.toBe('ready');
  });

  it("rediss:// to Redis' plain port times out, with a hint", async () => {
    // Redis' plain port reads the TLS hello as the start of a command and waits for its end.
    const url = `rediss://localhost:${plainRedis.port}`;
    const c = new Redis({ ...redisOptionsFromUrl(url, { ca: [ca.certificatePem] }), connectTimeout: 500 });
    open.push(c);
    const error = await firstError(c);
    expect(redisTlsFailure(error, context(url, true))).toBeUndefined();
    expect(redisConnectHint(error, context(url, true))).toMatch(
      new RegExp(
        `no TLS handshake from localhost:${plainRedis.port} in time: check that it is Redis' TLS port`,
      ),
    );
  });

  it("an institution's queue user works over TLS, and a wrong password is refused as over TCP", async () => {
    const admin = connect(redis.tlsUrl, [ca.certificatePem]);
    const password = randomBytes(16).toString('hex');
    const { username } = await provisionInstitutionQueueUser(admin, 'site-a', password);
    const url = `rediss://${username}:${password}@localhost:${redis.tlsPort}`;
    const worker = workerRedisConnection(url, { variable: 'WORKER_REDIS_URL', ca: [ca.certificatePem] });
    open.push(worker);
    // PING is not among the queue user's commands; EXISTS on its own keys is.
    expect(await worker.exists('scp:institution-site-a:x')).toBe(0);
    await expect(worker.exists('scp:institution-site-b:x')).rejects.toThrow(/NOPERM/);

    const wrong = workerRedisConnection(`rediss://${username}:wrong-password@localhost:${redis.tlsPort}`, {
      ca: [ca.certificatePem],
    });
    open.push(wrong);
    expect((await firstError(wrong)).message).toMatch(/WRONGPASS/);
  });
});
