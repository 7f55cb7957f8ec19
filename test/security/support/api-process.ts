import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The built api (dist/api/main.js) as a child process, so its RSS can be read from
 * /proc/<pid>/status and a crash is visible as an exit instead of taking the test runner down.
 * A copy of test/support/processes.ts' startService that also lets a spec choose NODE_ENV
 * (production mode turns introspection off) and tells whether the process is still running.
 */
export interface ApiProcess {
  child: ChildProcess;
  pid: number;
  url: string;
  output(): string;
  running(): boolean;
  /** The exit code, or the signal that ended it, once it has ended. */
  exited: Promise<number | string | null>;
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export async function startApiProcess(
  env: Record<string, string>,
  logDir: string,
  nodeEnv = 'test',
): Promise<ApiProcess> {
  mkdirSync(logDir, { recursive: true });
  const child = spawn(process.execPath, ['dist/api/main.js'], {
    env: { ...process.env, ...env, NODE_ENV: nodeEnv, API_PORT: '0', API_HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const file = createWriteStream(join(logDir, 'api.log'), { flags: 'a' });
  let out = '';
  const onData = (chunk: Buffer) => {
    // Keep the tail only: a flood of log lines must not grow the test runner.
    out = (out + chunk.toString()).slice(-200_000);
    file.write(chunk);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | string | null>((resolve) =>
    child.once('exit', (code, signal) => {
      file.end();
      resolve(code ?? signal);
    }),
  );
  const running = () => child.exitCode === null && child.signalCode === null;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`api did not start in 90 s:\n${out.slice(-3000)}`)),
      90_000,
    );
    const check = () => {
      const m = /listening on (http:\/\/\S+?)\s/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off('data', check);
        resolve(m[1].replace('[::1]', '127.0.0.1').replace(/\/$/, ''));
      }
    };
    child.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`api exited (${code}) before listening:\n${out.slice(-3000)}`));
    });
  });
  return {
    child,
    pid: child.pid!,
    url,
    output: () => out,
    running,
    exited,
    async kill() {
      if (running()) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (!running()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
