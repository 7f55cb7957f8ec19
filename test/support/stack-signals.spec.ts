import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisInstance } from '../../scripts/local-stack/processes';

/**
 * `npm run stack` as a user runs it, through npm, against a Redis it was given (a private
 * redis-server here, standing for the machine's): whoever gets the signal, every process it started
 * stops and the Redis keeps none of its queue users or keys. Runs the built dist/ (npm test builds).
 */

const READY = /Ctrl-C stops everything/;

interface RunningStack {
  npm: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startStack(redisUrl: string): RunningStack {
  const npm = spawn('npm', ['run', '--silent', 'stack', '--', '--port', '0', '--redis', redisUrl], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  npm.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  npm.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
  return { npm, output: () => out, exited };
}

async function until(
  what: string,
  condition: () => boolean,
  timeoutMs: number,
  log = () => '',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms\n${log().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The ids of the processes whose parent is `pid` (from /proc: Linux only, as the stack is). */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of /proc/<pid>/stat is the parent's id; the command name (2) may hold spaces.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // The process exited while we looked.
    }
  }
  return children;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still answers kill(0) until it is reaped; it serves nothing.
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The stack's main process (npm execs it in place of its shell) and the services it started. */
function stackProcesses(npmPid: number): { main: number; services: number[] } {
  const [main] = childrenOf(npmPid);
  expect(main, 'npm runs the stack as its direct child').toBeDefined();
  return { main, services: childrenOf(main) };
}

describe('npm run stack: stops everything it started, whoever gets the signal', () => {
  let dir: string;
  let redis: RedisInstance;
  let admin: Redis;
  const stacks: RunningStack[] = [];

  const queueUsers = async () =>
    ((await admin.call('ACL', 'USERS')) as string[]).filter((u) => u.startsWith('worker-'));
  const queueKeys = async () => (await admin.keys('scp:*')).length;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stack-signals-'));
    redis = await startRedis(join(dir, 'redis'));
    admin = new Redis(redis.url);
  });
  afterAll(async () => {
    for (const s of stacks) if (s.npm.exitCode === null) s.npm.kill('SIGKILL');
    admin?.disconnect();
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const start = async () => {
    const stack = startStack(redis.url);
    stacks.push(stack);
    await until('the stack ready', () => READY.test(stack.output()), 240_000, stack.output);
    return stack;
  };

  it('SIGTERM to npm: the api, aggregator and workers exit, and its queue users and keys leave Redis', async () => {
    const stack = await start();
    const { main, services } = stackProcesses(stack.npm.pid!);
    // api, aggregator and a worker for each of the three example institutions.
    expect(services.length).toBe(5);
    expect(await queueUsers()).toHaveLength(3);
    expect(await queueKeys()).toBeGreaterThan(0);

    stack.npm.kill('SIGTERM');
    await stack.exited;
    await until('every process gone', () => ![main, ...services].some(alive), 20_000, stack.output);
    expect(stack.output()).toMatch(/stopping the stack \(SIGTERM\)/);
    expect(stack.output()).toMatch(/removed 3 queue user\(s\)/);
    expect(await queueUsers()).toEqual([]);
    expect(await queueKeys()).toBe(0);
  }, 300_000);

  it('SIGKILL to the stack itself: its services stop on their own; the next start removes what it left in Redis', async () => {
    const first = await start();
    const { main, services } = stackProcesses(first.npm.pid!);
    process.kill(main, 'SIGKILL');
    // No one could clean up: the services notice that their parent is gone and stop.
    await until('the orphaned services gone', () => !services.some(alive), 20_000, first.output);
    expect(await queueUsers()).toHaveLength(3);

    const second = await start();
    expect(second.output()).toMatch(/removed what an earlier stack left .*3 queue user\(s\)/);
    const next = stackProcesses(second.npm.pid!);
    second.npm.kill('SIGINT');
    await second.exited;
    await until(
      'every process gone',
      () => ![next.main, ...next.services].some(alive),
      20_000,
      second.output,
    );
    expect(await queueUsers()).toEqual([]);
    expect(await queueKeys()).toBe(0);
  }, 600_000);
});
