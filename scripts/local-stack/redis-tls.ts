import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './processes';
import type { TlsFiles } from './local-ca';

/**
 * A private redis-server speaking TLS, as a consortium exposes it to its sites: a `tls-port`
 * with the server certificate of the consortium's CA, no client certificates asked
 * (`tls-auth-clients no`: sites authenticate with their ACL user's password), an ACL file and
 * the deployment limits as startRedis (processes.ts) has them. Optionally also a plain port on
 * loopback: the consortium's own services inside the cluster.
 */

const REDIS_LIMITS_CONF = fileURLToPath(new URL('../../libs/queue/redis/limits.conf', import.meta.url));

export interface TlsRedisOptions {
  /** Also listen in plain text on a loopback port (default false: TLS only, `--port 0`). */
  plainPort?: boolean;
}

export interface TlsRedisInstance {
  tlsPort: number;
  /** rediss://localhost:<tlsPort> (the certificate names localhost and 127.0.0.1). */
  tlsUrl: string;
  /** The plain loopback port and its redis:// URL, if asked for. */
  port?: number;
  url?: string;
  stop(): Promise<void>;
}

export async function startTlsRedis(
  dir: string,
  files: TlsFiles,
  opts: TlsRedisOptions = {},
): Promise<TlsRedisInstance> {
  const tlsPort = await freePort();
  const port = opts.plainPort ? await freePort() : undefined;
  await mkdir(dir, { recursive: true });
  const aclFile = join(dir, 'users.acl');
  await writeFile(aclFile, '', { flag: 'a' });
  const child: ChildProcess = spawn(
    'redis-server',
    [
      '--bind',
      '127.0.0.1',
      '--port',
      String(port ?? 0),
      '--tls-port',
      String(tlsPort),
      '--tls-cert-file',
      files.certFile,
      '--tls-key-file',
      files.keyFile,
      '--tls-ca-cert-file',
      files.caFile,
      '--tls-auth-clients',
      'no',
      '--save',
      '',
      '--appendonly',
      'no',
      '--aclfile',
      aclFile,
      '--include',
      REDIS_LIMITS_CONF,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`redis-server (TLS) did not start:\n${out}`)), 10_000);
    const onData = (c: Buffer) => {
      out += c.toString();
      if (/Ready to accept connections/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server (TLS) exited (${code}):\n${out}`));
    });
  });
  return {
    tlsPort,
    tlsUrl: `rediss://localhost:${tlsPort}`,
    ...(port !== undefined ? { port, url: `redis://127.0.0.1:${port}` } : {}),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
  };
}
