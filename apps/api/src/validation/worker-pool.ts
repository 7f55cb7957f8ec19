import { Worker } from 'node:worker_threads';

export interface WorkerPoolOptions {
  /** The worker's program (a file), or its code when `eval` is set (tests). */
  script: string;
  eval?: boolean;
  /** Threads running at once. */
  size: number;
  /** Jobs that may wait for a thread; one more is answered 'busy'. */
  maxQueue: number;
  /** Wall time of one job once it runs; the thread is then terminated. */
  timeoutMs: number;
  /** V8 old-generation heap of each thread; beyond it V8 stops the thread. */
  maxMemoryMb: number;
}

/** How a job ended: its answer, or why it has none. */
export type PoolOutcome<R> =
  | { kind: 'result'; result: R }
  | { kind: 'busy' }
  | { kind: 'timeout' }
  | { kind: 'memory' }
  | { kind: 'aborted' }
  | { kind: 'stopped' }
  | { kind: 'crashed'; message: string };

interface Job<M, R> {
  message: M;
  signal?: AbortSignal;
  settle(outcome: PoolOutcome<R>): void;
}

/**
 * A few worker threads, each running one job at a time: a job that overruns its time, its heap,
 * or whose caller gave up (the client went away) has its thread terminated and replaced, so
 * nothing it did can outlive it. Idle threads are kept for the next job and do not keep the
 * process alive. Each job's answer is the worker's first message after the job is posted.
 */
export class WorkerPool<M, R> {
  private readonly idle: Worker[] = [];
  private readonly running = new Set<Worker>();
  private readonly queue: Job<M, R>[] = [];
  private closed = false;

  constructor(private readonly options: WorkerPoolOptions) {}

  /** Threads running a job and jobs waiting (for tests and logs). */
  get load(): { running: number; queued: number } {
    return { running: this.running.size, queued: this.queue.length };
  }

  run(message: M, signal?: AbortSignal): Promise<PoolOutcome<R>> {
    return new Promise((resolve) => {
      if (this.closed) return resolve({ kind: 'stopped' });
      if (signal?.aborted) return resolve({ kind: 'aborted' });
      const job: Job<M, R> = { message, signal, settle: resolve };
      if (this.running.size < this.options.size) return this.start(job);
      if (this.queue.length >= this.options.maxQueue) return resolve({ kind: 'busy' });
      this.queue.push(job);
      signal?.addEventListener(
        'abort',
        () => {
          const i = this.queue.indexOf(job);
          if (i < 0) return;
          this.queue.splice(i, 1);
          resolve({ kind: 'aborted' });
        },
        { once: true },
      );
    });
  }

  /** Starts one idle thread ahead of the first job, so that no request waits for a thread to load. */
  warm(): void {
    if (this.closed || this.idle.length + this.running.size > 0) return;
    const worker = this.spawn();
    worker.unref();
    this.idle.push(worker);
  }

  /** Terminates every thread; waiting and running jobs end as 'stopped'. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.settle({ kind: 'stopped' });
    const all = [...this.idle.splice(0), ...this.running];
    await Promise.all(all.map((w) => w.terminate()));
  }

  private spawn(): Worker {
    const worker = new Worker(this.options.script, {
      eval: this.options.eval,
      resourceLimits: { maxOldGenerationSizeMb: this.options.maxMemoryMb },
    });
    // A thread that dies while idle must not take the process with it (an 'error' event without
    // a listener would) nor be handed the next job.
    const forget = () => {
      const i = this.idle.indexOf(worker);
      if (i >= 0) this.idle.splice(i, 1);
    };
    worker.on('error', forget);
    worker.on('exit', forget);
    return worker;
  }

  private start(job: Job<M, R>): void {
    const worker = this.idle.pop() ?? this.spawn();
    this.running.add(worker);
    worker.ref();
    let done = false;
    const finish = (outcome: PoolOutcome<R>, reusable: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      job.signal?.removeEventListener('abort', onAbort);
      this.running.delete(worker);
      if (reusable && !this.closed) {
        worker.unref();
        this.idle.push(worker);
      } else {
        void worker.terminate();
      }
      job.settle(outcome);
      this.next();
    };
    const onMessage = (result: R) => finish({ kind: 'result', result }, true);
    const onError = (e: Error & { code?: string }) =>
      finish(
        e.code === 'ERR_WORKER_OUT_OF_MEMORY' ? { kind: 'memory' } : { kind: 'crashed', message: e.message },
        false,
      );
    const onExit = (code: number) =>
      finish(
        this.closed
          ? { kind: 'stopped' }
          : { kind: 'crashed', message: `the thread exited with code ${code}` },
        false,
      );
    const onAbort = () => finish({ kind: 'aborted' }, false);
    const timer = setTimeout(() => finish({ kind: 'timeout' }, false), this.options.timeoutMs);
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    job.signal?.addEventListener('abort', onAbort, { once: true });
    worker.postMessage(job.message);
  }

  private next(): void {
    if (this.closed || this.running.size >= this.options.size) return;
    const job = this.queue.shift();
    if (job) this.start(job);
  }
}
