/**
 * Graceful shutdown of a worker process on SIGTERM/SIGINT (opt-in: a library does not install
 * process-wide handlers by itself).
 */

export interface Closable {
  close(): Promise<void>;
}

export interface CloseOnSignalsOptions {
  /** Default SIGTERM and SIGINT. */
  signals?: NodeJS.Signals[];
  /** Exit the process once closed (code 0, or 1 if close failed). Default true. */
  exit?: boolean;
  /** Progress messages (default console.error). */
  log?: (message: string) => void;
}

/**
 * On the first signal, closes `target` (a worker waits for its current job) and exits; a second
 * signal exits at once with code 130 (the current job then stalls and is retried elsewhere).
 * Returns a function that removes the handlers.
 */
export function closeOnSignals(target: Closable, opts: CloseOnSignalsOptions = {}): () => void {
  const signals = opts.signals ?? ['SIGTERM', 'SIGINT'];
  const exit = opts.exit ?? true;
  const log = opts.log ?? ((message: string) => console.error(message));
  let closing = false;

  const onSignal = (signal: NodeJS.Signals): void => {
    if (closing) {
      log(`${signal} again: exiting without waiting for the current job`);
      process.exit(130);
      return;
    }
    closing = true;
    log(`${signal}: finishing the current job, then exiting`);
    target.close().then(
      () => {
        if (exit) process.exit(0);
      },
      (error: unknown) => {
        log(`close failed: ${(error as Error).message}`);
        if (exit) process.exit(1);
      },
    );
  };

  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
}
