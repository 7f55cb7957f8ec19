/**
 * The Redis limits of libs/queue/redis/limits.conf: a redis-server started with them (as the
 * test and `npm run stack` Redis is) accepts every line and applies it.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startRedis, type RedisInstance } from '../../../scripts/local-stack/processes';
import { redisConnection } from './connection';

const CONF = new URL('../redis/limits.conf', import.meta.url);

let dir: string;
let server: RedisInstance;
let admin: Redis;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scp-limits-'));
  server = await startRedis(join(dir, 'redis'));
  admin = redisConnection(server.url);
});

afterAll(async () => {
  admin?.disconnect();
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

const config = async (name: string) => ((await admin.call('CONFIG', 'GET', name)) as string[])[1];

it('applies every setting of limits.conf', async () => {
  const lines = (await readFile(CONF, 'utf8'))
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'))
    .map((l) => l.trim().split(/\s+/));
  expect(lines.length).toBeGreaterThanOrEqual(9);
  expect(await config('maxmemory')).toBe(String(1024 ** 3));
  expect(await config('maxmemory-policy')).toBe('noeviction'); // BullMQ requires it
  expect(await config('busy-reply-threshold')).toBe('1000');
  expect(await config('client-output-buffer-limit')).toBe(
    'normal 67108864 16777216 60 slave 268435456 67108864 60 pubsub 33554432 8388608 60',
  );
  expect(await config('client-query-buffer-limit')).toBe(String(32 * 1024 ** 2));
  expect(await config('proto-max-bulk-len')).toBe(String(32 * 1024 ** 2));
  expect(await config('maxmemory-clients')).toBe('10%');
  // Redis lowers maxclients when the process may not open that many files; never raises it.
  expect(Number(await config('maxclients'))).toBeLessThanOrEqual(2000);
  expect(Number(await config('maxclients'))).toBeGreaterThan(0);
});
