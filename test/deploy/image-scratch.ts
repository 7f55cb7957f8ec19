/**
 * Scratch space and child processes for the image-build test, cleaned up on every way out: the
 * test's own afterAll, the process exiting, SIGINT/SIGTERM (the handlers clean up, then let the
 * signal do what it would have done), and — for a SIGKILL nobody can catch — the next run, which
 * removes the directories of runs whose process is gone. Every child runs in its own process
 * group so `npm ci` and the scripts it starts stop together.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** stdout and stderr as they came (the last 200 kB). */
  output: string;
  stderr: string;
  stdout: string;
}

export interface Started {
  child: ChildProcess;
  output(): string;
  /** Resolves with the first match of `pattern` in the output; rejects if the process ends first. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
  finished: Promise<Finished>;
}

export interface SpawnOptions {
  cwd?: string;
  env?: Record<string, string>;
  uid?: number;
  gid?: number;
}

const KEEP = 200_000;

export class Scratch {
  readonly dir: string;
  private readonly children = new Map<ChildProcess, Promise<Finished>>();
  private readonly cleanups: (() => Promise<void> | void)[] = [];
  private readonly onExit = () => {
    // Only what runs synchronously happens here (kills do; a database drop would not).
    for (const cleanup of this.cleanups.splice(0)) void Promise.resolve(cleanup()).catch(() => undefined);
    this.dispose();
  };
  private readonly onSignal = (signal: NodeJS.Signals) => {
    const deadline = new Promise((resolve) => setTimeout(resolve, 5000).unref());
    void Promise.race([this.runCleanups(), deadline]).finally(() => {
      this.dispose();
      process.kill(process.pid, signal);
    });
  };

  constructor(label: string) {
    const prefix = `${label}-`;
    for (const name of readdirSync(tmpdir())) {
      const pid = Number(/^(\d+)-/.exec(name.slice(prefix.length))?.[1]);
      if (name.startsWith(prefix) && pid > 0 && !alive(pid)) {
        rmSync(join(tmpdir(), name), { recursive: true, force: true });
      }
    }
    this.dir = mkdtempSync(join(tmpdir(), `${prefix}${process.pid}-`));
    // The runtime tree is run as the image's unprivileged user when we are root: let it in.
    chmodSync(this.dir, 0o755);
    process.once('exit', this.onExit);
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
  }

  start(file: string, args: string[], options: SpawnOptions): Started {
    const child = spawn(file, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let stdout = '';
    let stderr = '';
    const waiters: (() => void)[] = [];
    const take = (chunk: Buffer, stream: 'stdout' | 'stderr') => {
      const text = chunk.toString();
      output = (output + text).slice(-KEEP);
      if (stream === 'stdout') stdout = (stdout + text).slice(-KEEP);
      else stderr = (stderr + text).slice(-KEEP);
      waiters.forEach((w) => w());
    };
    child.stdout!.on('data', (c: Buffer) => take(c, 'stdout'));
    child.stderr!.on('data', (c: Buffer) => take(c, 'stderr'));
    const finished = new Promise<Finished>((resolve) => {
      // A spawn that fails emits 'error' (and not always 'close').
      child.once('error', (error) => {
        output += `\n${error.message}`;
        this.children.delete(child);
        resolve({ code: null, signal: null, output, stdout, stderr });
      });
      child.once('close', (code, signal) => {
        this.children.delete(child);
        resolve({ code, signal, output, stdout, stderr });
      });
    });
    this.children.set(child, finished);
    return {
      child,
      output: () => output,
      finished,
      waitFor(pattern, timeoutMs) {
        return new Promise((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`no ${pattern} within ${timeoutMs} ms:\n${output.slice(-3000)}`)),
            timeoutMs,
          );
          const check = () => {
            const match = pattern.exec(output);
            if (match) {
              clearTimeout(timer);
              resolve(match);
            }
          };
          waiters.push(check);
          check();
          void finished.then(({ code, signal }) => {
            clearTimeout(timer);
            reject(new Error(`exited (${code ?? signal}) before ${pattern}:\n${output.slice(-3000)}`));
          });
        });
      },
    };
  }

  /** Runs to the end; past `timeoutMs` the process group is killed (signal SIGKILL in the result). */
  async run(file: string, args: string[], options: SpawnOptions, timeoutMs: number): Promise<Finished> {
    const started = this.start(file, args, options);
    const timer = setTimeout(() => this.killGroup(started.child), timeoutMs);
    try {
      return await started.finished;
    } finally {
      clearTimeout(timer);
    }
  }

  killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // Already gone.
    }
  }

  /** Kills what is still running, waits for it to end, then removes the directory. */
  /** Something else to undo on the way out (a server, a database), last deferred first. */
  defer(cleanup: () => Promise<void> | void): void {
    this.cleanups.unshift(cleanup);
  }

  private async runCleanups(): Promise<void> {
    for (const cleanup of this.cleanups.splice(0)) {
      await Promise.resolve()
        .then(cleanup)
        .catch(() => undefined);
    }
  }

  /** Runs the deferred clean-ups, kills what is still running, waits for it, removes the directory. */
  async close(): Promise<void> {
    await this.runCleanups();
    const running = [...this.children.values()];
    for (const child of this.children.keys()) this.killGroup(child);
    await Promise.all(running);
    this.dispose();
  }

  /** Kills what is still running and removes the directory at once; safe to call more than once. */
  dispose(): void {
    for (const child of this.children.keys()) this.killGroup(child);
    this.children.clear();
    rmSync(this.dir, { recursive: true, force: true });
    process.off('exit', this.onExit);
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }
}
