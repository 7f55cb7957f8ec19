import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Separate processes for end-to-end tests: a private redis-server (so a test may restart it
 * without disturbing other test files) and the platform's services, run from their built
 * bundles in dist/ exactly as `npm run stack` and the Helm chart run them.
 */

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface Service {
  name: string;
  child: ChildProcess;
  /** Everything it printed so far. */
  output(): string;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** SIGKILL, as a crash would. */
  kill(): Promise<void>;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<number | null>;
}

export function startService(
  name: string,
  script: string,
  env: Record<string, string>,
  logDir: string,
  args: string[] = [],
  /** A command the node process runs under, e.g. ['ip', 'netns', 'exec', '<namespace>']. */
  launcher: readonly string[] = [],
): Service {
  const [command, ...prefix] = [...launcher, process.execPath];
  const child = spawn(command, [...prefix, script, ...args], {
    env: { ...process.env, ...env, NODE_ENV: 'test' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  mkdirSync(logDir, { recursive: true });
  const file = createWriteStream(join(logDir, `${name}.log`), { flags: 'a' });
  const onData = (chunk: Buffer) => {
    out += chunk.toString();
    file.write(chunk);
    for (const w of [...waiters]) {
      if (w.pattern.test(out)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    name,
    child,
    output: () => out,
    waitFor(pattern, timeoutMs = 60_000) {
      if (pattern.test(out)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(new Error(`${name}: no ${pattern} within ${timeoutMs} ms; output:\n${out.slice(-3000)}`)),
          timeoutMs,
        );
        waiters.push({
          pattern,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
        void exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`${name} exited (${code}) before ${pattern}; output:\n${out.slice(-3000)}`));
        });
      });
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

export interface RedisInstance {
  port: number;
  url: string;
  stop(): Promise<void>;
  restart(): Promise<void>;
}

/**
 * A private redis-server on a free loopback port. No data is persisted, but ACL users are (an
 * ACL file, as a deployment must have: the institutions' queue users survive a restart).
 */
const REDIS_LIMITS_CONF = fileURLToPath(new URL('../../libs/queue/redis/limits.conf', import.meta.url));

export interface RedisOptions {
  /**
   * Addresses of this machine to listen on besides 127.0.0.1 (bench:sites: the hub address its
   * network namespaces reach). Protected mode, which refuses every non-loopback client while
   * the default user has no password, is then off: only these addresses are bound.
   */
  bind?: readonly string[];
}

export async function startRedis(dir: string, options: RedisOptions = {}): Promise<RedisInstance> {
  const extra = options.bind ?? [];
  const port = await freePort();
  await mkdir(dir, { recursive: true });
  const aclFile = join(dir, 'users.acl');
  await writeFile(aclFile, '', { flag: 'a' });
  let child: ChildProcess;
  const launch = async () => {
    child = spawn(
      'redis-server',
      [
        '--bind',
        '127.0.0.1',
        ...extra,
        ...(extra.length > 0 ? ['--protected-mode', 'no'] : []),
        '--port',
        String(port),
        '--save',
        '',
        '--appendonly',
        'no',
        '--aclfile',
        aclFile,
        // The limits recommended for a consortium deployment (maxmemory, noeviction, ...).
        '--include',
        REDIS_LIMITS_CONF,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${out}`)), 10_000);
      child.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        if (/Ready to accept connections/.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  };
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  };
  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop,
    restart: async () => {
      await stop();
      await launch();
    },
  };
}
