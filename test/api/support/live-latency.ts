import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import type { ApiHarness } from './api-harness';

/**
 * Polls /health/live every 20 ms until `until` settles and returns the worst latency seen. A
 * probe's latency counts from when it should have started (20 ms after the previous answer), so
 * an event loop blocked between probes (a late timer) counts as well as one blocked during one.
 * `eventLoopDelay` is the in-process api's own worst loop delay, to tell a blocked loop from a
 * machine too busy to run the test.
 */
export async function worstLiveLatency(
  api: ApiHarness,
  until: Promise<unknown>,
): Promise<{ worst: number; probes: number; eventLoopDelay: number }> {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let done = false;
  void until.finally(() => (done = true)).catch(() => undefined);
  let worst = 0;
  let probes = 0;
  let due = performance.now();
  while (!done) {
    const res = await fetch(`${api.url}/health/live`);
    await res.arrayBuffer();
    expect(res.status).toBe(200);
    worst = Math.max(worst, performance.now() - due);
    probes += 1;
    due = performance.now() + 20;
    await sleep(20);
  }
  delay.disable();
  return { worst: Math.round(worst), probes, eventLoopDelay: Math.round(delay.max / 1e6) };
}
