import { appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withBombLock } from './bomb-lock';
import type { Platform } from './platform';
import { fmtMiB, startSampler, type Sample } from './sampler';

/**
 * The bounds every bomb is held to, measured on the api process while the bomb is processed.
 * Latency: the issue's target, 100 ms. What it is meant to catch is the api's event loop held
 * by the bomb's work (a quadratic parse held it for seconds). Bombs never overlap each other
 * (the bomb lock), but a probe can still wait for a core that other spec files' processes hold;
 * on a runner with fewer cores than it runs processes, LATENCY_TOLERANCE_MS (default 0) adds
 * that scheduling wait. Set it for such a runner only, never to pass a slow api locally.
 */
export const MAX_RSS_BYTES = 600 * 1024 * 1024;
export const MAX_LATENCY_MS = 100 + Number(process.env.LATENCY_TOLERANCE_MS ?? 0);
/** Past this the sampler SIGKILLs the api (a defective build reaches several GB). */
export const KILL_ABOVE_BYTES = 2 * 1024 * 1024 * 1024;
/** A bomb's request is abandoned after this long (a wedged api fails the case, not the suite). */
export const BOMB_REQUEST_TIMEOUT_MS = 60_000;

export const MEASUREMENTS_FILE = join(tmpdir(), 'scp-security-measurements.jsonl');

export interface BombOutcome<T> {
  result: T | Error;
  sample: Sample;
  elapsedMs: number;
}

/**
 * Runs `attack` while sampling the api's RSS and /health/live, keeps sampling `settleMs` after it
 * (work left running after the answer counts too), records the figures and returns them. Holds
 * the run-wide bomb lock meanwhile: bombs of spec files running in other forks wait their turn.
 */
export function underSampler<T>(
  platform: Platform,
  label: string,
  attack: (signal: AbortSignal) => Promise<T>,
  settleMs = 300,
): Promise<BombOutcome<T>> {
  return withBombLock(() => sampled(platform, label, attack, settleMs));
}

async function sampled<T>(
  platform: Platform,
  label: string,
  attack: (signal: AbortSignal) => Promise<T>,
  settleMs: number,
): Promise<BombOutcome<T>> {
  const baseline = await startSampler(platform.api.pid, platform.url);
  const idle = await new Promise((r) => setTimeout(r, 300)).then(() => baseline.stop());
  const sampler = await startSampler(platform.api.pid, platform.url, KILL_ABOVE_BYTES);
  const started = performance.now();
  let result: T | Error;
  try {
    result = await attack(AbortSignal.timeout(BOMB_REQUEST_TIMEOUT_MS));
  } catch (e) {
    result = e as Error;
  }
  const elapsedMs = Math.round(performance.now() - started);
  await new Promise((r) => setTimeout(r, settleMs));
  const sample = await sampler.stop();
  const record = {
    label,
    at: new Date().toISOString(),
    elapsedMs,
    idleRss: fmtMiB(idle.peakRssBytes),
    peakRss: fmtMiB(sample.peakRssBytes),
    maxLiveLatencyMs: sample.maxLatencyMs,
    maxLiveLatencyAtMs: sample.maxLatencyAtMs,
    p99LiveLatencyMs: sample.p99LatencyMs,
    polls: sample.polls,
    failedPolls: sample.failures,
    killedForMemory: sample.killedForMemory,
    outcome: result instanceof Error ? `error: ${result.message}` : describe(result),
  };
  appendFileSync(MEASUREMENTS_FILE, `${JSON.stringify(record)}\n`);
  console.log(`[bomb] ${JSON.stringify(record)}`);
  return { result, sample, elapsedMs };
}

function describe(value: unknown): string {
  if (value && typeof value === 'object' && 'status' in value)
    return `HTTP ${(value as { status: number }).status}`;
  return JSON.stringify(value)?.slice(0, 200) ?? String(value);
}
