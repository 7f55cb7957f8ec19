import { describe, expect, it } from 'vitest';
import { parseRedisUrl, redactRedisUrl } from './redis-url';
import { reconnectDelayMs, redisOptionsFromUrl } from './connection';

describe('parseRedisUrl', () => {
  it('reads user, password, host, port and database', () => {
    expect(parseRedisUrl('redis://worker-a:s%40cret@redis.example:6380/2')).toEqual({
      host: 'redis.example',
      port: 6380,
      username: 'worker-a',
      password: 's@cret',
      db: 2,
      tls: false,
    });
    expect(parseRedisUrl('rediss://[::1]')).toEqual({ host: '::1', port: 6379, db: 0, tls: true });
    expect(parseRedisUrl('redis://:only-password@h/')).toEqual({
      host: 'h',
      port: 6379,
      password: 'only-password',
      db: 0,
      tls: false,
    });
  });

  it('names the variable and never repeats the password', () => {
    const cases: [string | undefined, RegExp][] = [
      [undefined, /^WORKER_REDIS_URL is not set/],
      ['', /^WORKER_REDIS_URL is not set/],
      ['not a url hunter2', /^WORKER_REDIS_URL is not a valid URL/],
      ['http://u:hunter2@h:6379', /^WORKER_REDIS_URL=http:\/\/u:\*\*\*@h:6379\/: unsupported scheme "http:"/],
      ['redis://u:hunter2@h:6379/x', /bad database "x"/],
      ['redis://u:hunter2@h:6379/0?tls=1', /query parameters/],
    ];
    for (const [url, message] of cases) {
      let error: Error | undefined;
      try {
        parseRedisUrl(url, 'WORKER_REDIS_URL');
      } catch (e) {
        error = e as Error;
      }
      expect(error?.message, String(url)).toMatch(message);
      expect(error?.message).not.toContain('hunter2');
    }
  });

  it('redacts passwords for logs', () => {
    expect(redactRedisUrl('redis://u:pw@h:1/0')).toBe('redis://u:***@h:1/0');
    expect(redactRedisUrl('redis://h')).toBe('redis://h');
  });
});

describe('redisOptionsFromUrl', () => {
  it('has the settings BullMQ needs and survives restarts', () => {
    const opts = redisOptionsFromUrl('redis://worker-a:pw@127.0.0.1:6379/3', { connectionName: 'trainer' });
    expect(opts).toMatchObject({
      host: '127.0.0.1',
      port: 6379,
      username: 'worker-a',
      password: 'pw',
      db: 3,
      connectionName: 'trainer',
      maxRetriesPerRequest: null,
      enableOfflineQueue: true,
    });
    // Never gives up: every attempt gets a delay.
    expect(opts.retryStrategy?.(1000)).toBeGreaterThan(0);
    expect(opts.reconnectOnError?.(new Error('READONLY You cannot write against a read only replica.'))).toBe(
      2,
    );
    expect(opts.reconnectOnError?.(new Error('NOPERM'))).toBe(false);
  });

  it('backs off exponentially up to the cap', () => {
    const mid = () => 0.5;
    expect(reconnectDelayMs(1, 10_000, mid)).toBe(90);
    expect(reconnectDelayMs(4, 10_000, mid)).toBe(720);
    expect(reconnectDelayMs(50, 10_000, mid)).toBe(9000);
    expect(reconnectDelayMs(50, 10_000, () => 1)).toBe(10_000);
  });
});
