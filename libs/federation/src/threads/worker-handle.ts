import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { WorkerRequest, WorkerResponse } from './protocol';

type Pending = { resolve: (r: WorkerResponse & { type: 'ok' }) => void; reject: (e: Error) => void };
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * Where the bundled worker script is: beside the running bundle (dist/cli), or, when the
 * code runs from source (tests), in the repository's dist/ after `npm run build`.
 */
export function findWorkerScript(): string | undefined {
  const candidates = [
    process.env.SCPRIVACY_WORKER_SCRIPT,
    fileURLToPath(new URL('./engine-worker.js', import.meta.url)),
    fileURLToPath(new URL('../cli/engine-worker.js', import.meta.url)),
    fileURLToPath(new URL('../../../../dist/cli/engine-worker.js', import.meta.url)),
  ];
  return candidates.find((c): c is string => !!c && existsSync(c));
}

/** One engine worker thread with request/response matching. */
export class WorkerHandle {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure?: Error;

  /** With `idleUnref`, the thread keeps the process alive only while a request is pending. */
  constructor(
    script: string,
    private readonly options: { idleUnref?: boolean } = {},
  ) {
    this.worker = new Worker(script);
    if (options.idleUnref) this.worker.unref();
    this.worker.on('message', (response: WorkerResponse) => {
      const p = this.pending.get(response.id);
      if (!p) return;
      this.pending.delete(response.id);
      if (this.options.idleUnref && this.pending.size === 0) this.worker.unref();
      if (response.type === 'ok') p.resolve(response);
      else p.reject(Object.assign(new Error(response.message), { stack: response.stack }));
    });
    this.worker.on('error', (error) => this.failAll(error));
    this.worker.on('exit', (code) => {
      if (code !== 0) this.failAll(new Error(`engine worker thread exited with code ${code}`));
    });
  }

  request(
    message: DistributiveOmit<WorkerRequest, 'id'>,
    transfer: ArrayBuffer[] = [],
  ): Promise<WorkerResponse & { type: 'ok' }> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    this.worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...message, id }, transfer);
    });
  }

  async terminate(): Promise<void> {
    this.pending.clear();
    await this.worker.terminate();
  }

  private failAll(error: Error): void {
    this.failure = error;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }
}
