/**
 * How long the platform's PING takes while an institution's worker floods Redis with the
 * commands its ACL allows (private redis-server with limits.conf). Not a test: run by hand,
 *   npx esbuild libs/queue/bench/ping-under-flood.ts --bundle --platform=node --format=esm \
 *     --packages=external --outfile=dist/measure/ping-under-flood.mjs
 *   node dist/measure/ping-under-flood.mjs
 * Prints PING latency percentiles idle and under flood, what the flood got done, and Redis' own
 * view (commandstats, SLOWLOG, LATENCY). The flood runs in child processes, so the measuring
 * process' event loop is not the one parsing the flood's replies.
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { institutionQueueName, queueKeyPrefix } from '@fl/platform';
import { bullmqScripts, loadBullmqScripts, provisionInstitutionQueueUser, redisConnection } from '@fl/queue';
import { startRedis } from '../../../scripts/local-stack/processes';

const FLOOD_SECONDS = Number(process.env.FLOOD_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 8);
const PROCESSES = 2;
const LIST = Number(process.env.LIST ?? 10_000);

function percentiles(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))].toFixed(2);
  return `n=${s.length} p50=${at(0.5)} ms p99=${at(0.99)} ms max=${s[s.length - 1].toFixed(2)} ms`;
}

async function pings(admin: Redis, until: () => boolean): Promise<number[]> {
  const out: number[] = [];
  while (!until()) {
    const t = performance.now();
    await admin.ping();
    out.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, 5));
  }
  return out;
}

const nextMessage = <T>(c: ReturnType<typeof fork>) =>
  new Promise<T>((resolve) => c.once('message', (m) => resolve(m as T)));

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'scp-flood-'));
  const server = await startRedis(join(dir, 'redis'));
  const admin = redisConnection(server.url);
  try {
    const institution = `flood-${randomBytes(3).toString('hex')}`;
    const password = randomBytes(24).toString('hex');
    const { username } = await provisionInstitutionQueueUser(admin, institution, password);
    await loadBullmqScripts(admin);
    const prefix = queueKeyPrefix(institutionQueueName(institution));
    const url = `redis://${username}:${password}@127.0.0.1:${server.port}`;

    // The worker's own data: a LIST-element list and sorted set (default 10k; O(N) reads are allowed).
    const owner = new Redis(url, { disableClientInfo: true });
    for (let i = 0; i < LIST; i += 1000) {
      const items = Array.from({ length: Math.min(1000, LIST - i) }, (_, j) => `job-${i + j}`);
      await owner.rpush(`${prefix}wait`, ...items);
      await owner.zadd(`${prefix}delayed`, ...items.flatMap((m, j) => [i + j, m]));
    }
    owner.disconnect();

    const idleEnd = performance.now() + 2000;
    const idle = await pings(admin, () => performance.now() > idleEnd);

    const children = Array.from({ length: PROCESSES }, () =>
      fork(process.argv[1], [], {
        env: {
          ...process.env,
          FLOOD_URL: url,
          FLOOD_PREFIX: prefix,
          FLOOD_CONNECTIONS: String(CONNECTIONS / PROCESSES),
        },
      }),
    );
    await Promise.all(children.map((c) => nextMessage<string>(c)));
    // Redis' own view from here: commands slower than 10 ms, and latency events over 20 ms.
    await admin.call('CONFIG', 'SET', 'slowlog-log-slower-than', '10000');
    await admin.call('CONFIG', 'SET', 'latency-monitor-threshold', '20');
    await admin.call('SLOWLOG', 'RESET');
    await admin.call('CONFIG', 'RESETSTAT');
    const counts = children.map((c) => nextMessage<{ done: number; errors: number }>(c));
    const stopAt = performance.now() + FLOOD_SECONDS * 1000;
    children.forEach((c) => c.send('go'));
    const loaded = await pings(admin, () => performance.now() > stopAt);
    const totals = await Promise.all(counts);
    const done = totals.reduce((n, t) => n + t.done, 0);
    const errors = totals.reduce((n, t) => n + t.errors, 0);
    const stats = (await admin.info('commandstats'))
      .split('\n')
      .filter((l) => /cmdstat_(lrange|zrange|evalsha|hset|xadd|ping):/.test(l))
      .map((l) => l.trim().replace(/,rejected_calls.*$/, ''));
    const slow = (await admin.call('SLOWLOG', 'GET', '5')) as [number, number, number, string[]][];
    const latency = await admin.call('LATENCY', 'LATEST');
    process.stdout.write(
      `idle PING:  ${percentiles(idle)}\n` +
        `flood PING: ${percentiles(loaded)}\n` +
        `flood: ${CONNECTIONS} worker connections in ${PROCESSES} processes, ${FLOOD_SECONDS} s, ` +
        `${done} commands (${errors} errors), ${Math.round(done / FLOOD_SECONDS)} commands/s\n` +
        `commandstats:\n  ${stats.join('\n  ')}\n` +
        `slowlog (>10 ms, µs and command): ${JSON.stringify(slow.map((e) => [e[2], e[3][0]]))}\n` +
        `latency events (>20 ms): ${JSON.stringify(latency)}\n`,
    );
  } finally {
    admin.disconnect();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** A child: floods as the worker for FLOOD_SECONDS once told to, then reports its counts. */
async function flood(): Promise<void> {
  const url = process.env.FLOOD_URL!;
  const prefix = process.env.FLOOD_PREFIX!;
  const workers = Array.from({ length: Number(process.env.FLOOD_CONNECTIONS) }, () => {
    const w = new Redis(url, { maxRetriesPerRequest: 0, disableClientInfo: true });
    w.on('error', () => undefined);
    return w;
  });
  await Promise.all(workers.map((w) => w.info('server')));
  const getCounts = bullmqScripts().find((s) => s.name === 'getCounts')!;
  process.send!('ready');
  await new Promise((resolve) => process.once('message', resolve));
  let done = 0;
  let errors = 0;
  const stopAt = performance.now() + FLOOD_SECONDS * 1000;
  await Promise.all(
    workers.map(async (w) => {
      while (performance.now() < stopAt) {
        const p = w.pipeline();
        for (let i = 0; i < 20; i++) {
          p.lrange(`${prefix}wait`, 0, -1);
          p.zrange(`${prefix}delayed`, 0, -1);
          p.hset(`${prefix}j${i}`, 'data', randomBytes(512).toString('hex'));
          p.xadd(`${prefix}events`, 'MAXLEN', '~', '1000', '*', 'event', 'x');
          p.evalsha(getCounts.sha, 1, prefix, 'wait', 'delayed', 'active');
        }
        const replies = (await p.exec().catch(() => null)) ?? [];
        done += replies.length;
        errors += replies.filter(([e]) => e).length;
      }
    }),
  );
  workers.forEach((w) => w.disconnect());
  process.send!({ done, errors });
  process.disconnect();
}

void (process.env.FLOOD_URL ? flood() : main());
