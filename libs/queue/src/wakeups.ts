/**
 * Wake-ups of the waiters of a job id. QueueEvents only shortens a wait; the job's state in Redis
 * stays the source of truth (events are lost while disconnected and trimmed from the stream).
 */
export class Wakeups {
  private readonly waiters = new Map<string, Set<() => void>>();

  /** A promise resolved at the next wake(id) or wakeAll(), and a cancel to stop listening. */
  arm(id: string): { woken: Promise<void>; cancel: () => void } {
    let resolve!: () => void;
    const woken = new Promise<void>((r) => (resolve = r));
    let set = this.waiters.get(id);
    if (!set) this.waiters.set(id, (set = new Set()));
    set.add(resolve);
    const cancel = (): void => {
      const current = this.waiters.get(id);
      if (!current) return;
      current.delete(resolve);
      if (current.size === 0) this.waiters.delete(id);
    };
    return { woken, cancel };
  }

  wake(id: string): void {
    const set = this.waiters.get(id);
    if (!set) return;
    this.waiters.delete(id);
    for (const resolve of set) resolve();
  }

  wakeAll(): void {
    for (const id of [...this.waiters.keys()]) this.wake(id);
  }
}

// setTimeout fires at once beyond this (about 24.8 days).
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A timer as a promise, with clear() so that a race it loses leaves no timer behind (an hour-long
 * deadline must not leave an hour-long timer per poll).
 */
export function timer(ms: number): { done: Promise<void>; clear: () => void } {
  let handle: NodeJS.Timeout | undefined;
  const done = new Promise<void>((resolve) => {
    handle = setTimeout(resolve, Math.min(Math.max(0, ms), MAX_TIMER_MS));
  });
  return { done, clear: () => clearTimeout(handle) };
}
