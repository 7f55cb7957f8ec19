import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

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

// Paths from the repository root, the working directory of every caller (the services' own
// scripts are given as dist/<app>/main.js too): import.meta.url would name the bundle when this
// file is built into dist/stack/main.js or dist/bench/*.js.
/** Built by scripts/build.mjs from exit-with-parent.ts. */
const EXIT_WITH_PARENT = resolve('dist/stack/exit-with-parent.js');

export function startService(
  name: string,
  script: string,
  env: Record<string, string>,
  logDir: string,
  args: string[] = [],
  /** A command the node process runs under, e.g. ['ip', 'netns', 'exec', '<namespace>']. */
  launcher: readonly string[] = [],
): Service {
  const preload = existsSync(EXIT_WITH_PARENT) ? ['--import', pathToFileURL(EXIT_WITH_PARENT).href] : [];
  // A launcher (ip netns exec ...) execs node in place of itself, so node inherits the channel.
  const [command, ...prefix] = [...launcher, process.execPath];
  const child = spawn(command, [...prefix, ...preload, script, ...args], {
    env: { ...process.env, ...env, NODE_ENV: 'test' },
    // The IPC channel is the service's lifeline: it stops when this process dies (see
    // exit-with-parent.ts). Its own process group keeps a terminal's Ctrl-C (sent to the whole
    // foreground group) from reaching it directly: the stack stops its services in order.
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    detached: true,
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
const REDIS_LIMITS_CONF = resolve('libs/queue/redis/limits.conf');

/**
 * redis-server cannot watch its parent as the node services do (exit-with-parent.ts); util-linux's
 * setpriv asks the kernel to send it SIGTERM when this process dies, even by SIGKILL
 * (PR_SET_PDEATHSIG), so a killed test or benchmark leaves no Redis behind.
 */
const REDIS_LAUNCHER = existsSync('/usr/bin/setpriv')
  ? ['/usr/bin/setpriv', '--pdeathsig', 'SIGTERM', 'redis-server']
  : ['redis-server'];

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
      REDIS_LAUNCHER[0],
      [
        ...REDIS_LAUNCHER.slice(1),
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
