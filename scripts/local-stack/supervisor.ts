import type { Service } from './processes';

/**
 * Restarts a service that exits unexpectedly (what Kubernetes does for a pod), for
 * `npm run stack`: after a growing pause (1 s, 2 s, 4 s ... 30 s), at most `maxRestarts` times in
 * any minute, and says so on one line each time. Giving up is said too: a service that crashes
 * at once on every start would otherwise restart forever, hiding its error.
 */
export interface SupervisorOptions {
  name: string;
  /** Starts a fresh process (a new Service) each time. */
  start: () => Service;
  /** Resolves once a started process is ready (rejects if it exits first). */
  ready?: (service: Service) => Promise<void>;
  /** Told about every (re)started process once it is ready. */
  onStarted?: (service: Service) => void;
  log: (message: string) => void;
  /** Restarts allowed in any 60 s (default 5). */
  maxRestarts?: number;
  /** Pause before the nth restart of the last minute (default 1 s, doubling, at most 30 s). */
  backoffMs?: (restart: number) => number;
  now?: () => number;
}

const WINDOW_MS = 60_000;
const defaultBackoff = (restart: number) => Math.min(30_000, 1000 * 2 ** (restart - 1));

export class Supervisor {
  current!: Service;
  private restarts: number[] = [];
  private stopped = false;
  private timer?: NodeJS.Timeout;

  constructor(private readonly opts: SupervisorOptions) {}

  /** Starts the first process and waits until it is ready. */
  async start(): Promise<Service> {
    const service = this.launch();
    await this.opts.ready?.(service);
    this.opts.onStarted?.(service);
    return service;
  }

  /** Ends supervision, then stops the process (SIGTERM, waiting for its exit). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.current?.stop();
  }

  private launch(): Service {
    const service = this.opts.start();
    this.current = service;
    service.child.once('exit', (code, signal) => this.exited(service, code, signal));
    return service;
  }

  private exited(service: Service, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.stopped || service !== this.current) return;
    const now = (this.opts.now ?? Date.now)();
    this.restarts = this.restarts.filter((t) => now - t < WINDOW_MS);
    const max = this.opts.maxRestarts ?? 5;
    const how = `${this.opts.name} exited with code ${code ?? 'none'} (signal ${signal ?? 'none'})`;
    if (this.restarts.length >= max) {
      this.opts.log(`${how}; not restarting it: ${max} restarts in the last minute (see its log)`);
      return;
    }
    this.restarts.push(now);
    const n = this.restarts.length;
    const pause = (this.opts.backoffMs ?? defaultBackoff)(n);
    this.opts.log(`${how}; restarting in ${formatPause(pause)} (restart ${n} of ${max} in the last minute)`);
    this.timer = setTimeout(() => {
      if (this.stopped) return;
      const next = this.launch();
      (this.opts.ready?.(next) ?? Promise.resolve()).then(
        () => {
          if (this.stopped || next !== this.current) return;
          this.opts.log(`${this.opts.name} restarted`);
          this.opts.onStarted?.(next);
        },
        // It exited before it was ready: exited() has seen it already.
        () => undefined,
      );
    }, pause);
  }
}

function formatPause(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
