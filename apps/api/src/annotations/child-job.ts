import { fork } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { setPriority } from 'node:os';

/**
 * Nice value of a job's process: on a host it shares with the api (ANNOTATION_WORKER=on), a
 * CPU-bound job (a query bomb decompressing at full speed) yields a core to the api's requests
 * instead of delaying /health/live past 100 ms; with cores to spare it runs as fast as before.
 */
const CHILD_NICENESS = 10;

/** Wall time and memory a child process may use before it is killed. */
export interface ChildLimits {
  timeoutMs: number;
  maxMemoryMb: number;
  /** How often the child's RSS is read (default 200 ms). */
  pollMs?: number;
}

/** How a child ended: its answer, or why it gave none. */
export type ChildOutcome<R> =
  | { kind: 'result'; result: R; peakRssMb: number }
  | { kind: 'timeout' }
  | { kind: 'memory'; rssMb?: number }
  | { kind: 'crashed'; code: number | null; signal: NodeJS.Signals | null; output: string }
  | { kind: 'stopped' };

export interface ChildRun<R> {
  pid: number | undefined;
  outcome: Promise<ChildOutcome<R>>;
  /** Kills the child now (the api is stopping); its outcome is then 'stopped'. */
  stop(): void;
}

/** The last bytes of the child's output kept for the log of a crash. */
const OUTPUT_TAIL = 8 * 1024;
/** V8's words when it runs out of heap (--max-old-space-size). */
const HEAP_EXHAUSTED = /Reached heap limit|JavaScript heap out of memory/;

/**
 * Runs `script` in a child process, sends it `message` over IPC and waits for its one answer.
 * The child is killed (SIGKILL: a stuck event loop ignores gentler signals) when it runs longer
 * than timeoutMs or its resident memory exceeds maxMemoryMb. Both the V8 heap
 * (--max-old-space-size) and the RSS are bounded: typed arrays and WebAssembly memory live
 * outside the heap, so the heap flag alone would let a large matrix through.
 */
export function runChild<M, R>(script: string, message: M, limits: ChildLimits): ChildRun<R> {
  const child = fork(script, [], {
    execArgv: [`--max-old-space-size=${limits.maxMemoryMb}`],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    serialization: 'advanced',
  });
  try {
    if (child.pid !== undefined) setPriority(child.pid, CHILD_NICENESS);
  } catch {
    // Not permitted on this platform: the job runs at the api's priority.
  }
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-OUTPUT_TAIL);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);

  let verdict: ChildOutcome<R> | undefined;
  const kill = (why: ChildOutcome<R>) => {
    verdict ??= why;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const timer = setTimeout(() => kill({ kind: 'timeout' }), limits.timeoutMs);
  let peakRssMb = 0;
  const poll = setInterval(() => {
    void residentMb(child.pid).then((rssMb) => {
      peakRssMb = Math.max(peakRssMb, rssMb ?? 0);
      if (rssMb !== undefined && rssMb > limits.maxMemoryMb) kill({ kind: 'memory', rssMb });
    });
  }, limits.pollMs ?? 200);

  let answer: { result: R } | undefined;
  child.on('message', (m: { result: R }) => {
    answer ??= m;
  });
  const outcome = new Promise<ChildOutcome<R>>((resolve) => {
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      clearInterval(poll);
      if (verdict) return resolve(verdict);
      if (answer && code === 0) return resolve({ kind: 'result', result: answer.result, peakRssMb });
      if (HEAP_EXHAUSTED.test(output)) return resolve({ kind: 'memory' });
      resolve({ kind: 'crashed', code, signal, output });
    });
    // A child that cannot be started at all (no such file) exits too; 'error' alone is for
    // failures to send or kill, which the exit then reports.
    child.on('error', () => undefined);
  });
  child.send(message as object, (e) => {
    if (e)
      kill({ kind: 'crashed', code: null, signal: null, output: `could not send the job: ${e.message}` });
  });
  return { pid: child.pid, outcome, stop: () => kill({ kind: 'stopped' }) };
}

/** VmRSS of a process in MB (Linux /proc); undefined elsewhere or once it has exited. */
async function residentMb(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return kb ? Number(kb[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}
