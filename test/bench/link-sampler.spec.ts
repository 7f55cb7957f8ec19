import { afterEach, describe, expect, it, vi } from 'vitest';
import { LinkSampler } from '../../bench/link-sampler';

describe('LinkSampler: the bytes of a time window, from counters sampled while it ran', () => {
  afterEach(() => vi.useRealTimers());

  it('interpolates between the samples around each end and clamps outside them', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    // Link 1 moves 1000 bytes up per ms, link 2 500 bytes down per ms.
    const read = () => {
      const t = Date.now() - 1_000_000;
      return [
        { up: 1000 * t, down: 0 },
        { up: 0, down: 500 * t },
      ];
    };
    const sampler = new LinkSampler(read, 20).start();
    vi.advanceTimersByTime(100);
    sampler.stop();
    // 1,000,030 to 1,000,070 falls between samples (every 20 ms): 40 ms of traffic.
    expect(sampler.between(1_000_030, 1_000_070)).toEqual([
      { up: 40_000, down: 0 },
      { up: 0, down: 20_000 },
    ]);
    // Before the first sample and after the last: clamped (nothing was measured there).
    expect(sampler.between(900_000, 2_000_000)).toEqual([
      { up: 100_000, down: 0 },
      { up: 0, down: 50_000 },
    ]);
    expect(sampler.latest()).toEqual([
      { up: 100_000, down: 0 },
      { up: 0, down: 50_000 },
    ]);
  });
});
