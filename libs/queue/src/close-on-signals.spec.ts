import { afterEach, describe, expect, it, vi } from 'vitest';
import { closeOnSignals } from './close-on-signals';

describe('closeOnSignals', () => {
  afterEach(() => vi.restoreAllMocks());

  it('closes once on the first signal and exits at once on the second', async () => {
    const exit = vi.spyOn(process, 'exit').mockImplementation(() => undefined as never);
    let release!: () => void;
    const closed = new Promise<void>((r) => (release = r));
    const close = vi.fn(() => closed);
    const log: string[] = [];
    const uninstall = closeOnSignals({ close }, { signals: ['SIGUSR2'], log: (m) => log.push(m) });
    try {
      process.emit('SIGUSR2', 'SIGUSR2');
      expect(close).toHaveBeenCalledTimes(1);
      expect(exit).not.toHaveBeenCalled();
      process.emit('SIGUSR2', 'SIGUSR2');
      expect(close).toHaveBeenCalledTimes(1);
      expect(exit).toHaveBeenCalledWith(130);
      release();
      await closed;
      await new Promise((r) => setImmediate(r));
      expect(exit).toHaveBeenLastCalledWith(0);
      expect(log[0]).toMatch(/SIGUSR2: finishing the current job/);
    } finally {
      uninstall();
    }
    expect(process.listenerCount('SIGUSR2')).toBe(0);
  });

  it('does not exit when asked not to', async () => {
    const exit = vi.spyOn(process, 'exit').mockImplementation(() => undefined as never);
    const close = vi.fn(async () => undefined);
    const uninstall = closeOnSignals({ close }, { signals: ['SIGUSR2'], exit: false, log: () => undefined });
    process.emit('SIGUSR2', 'SIGUSR2');
    await new Promise((r) => setImmediate(r));
    uninstall();
    expect(close).toHaveBeenCalledTimes(1);
    expect(exit).not.toHaveBeenCalled();
  });
});
