import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** What the sampler saw of the api while one bomb was processed. */
export interface Sample {
  peakRssBytes: number;
  rssSamples: number;
  /** Slowest GET /health/live; a poll still in flight when sampling stops counts as its age. */
  maxLatencyMs: number;
  /** When the slowest probe was sent, in ms since sampling began. */
  maxLatencyAtMs: number;
  p50LatencyMs: number;
  p99LatencyMs: number;
  polls: number;
  /** Polls that got no 200 (refused connection, error status, timeout). */
  failures: number;
  killedForMemory: boolean;
}

const CHILD = fileURLToPath(new URL('./sampler-child.mjs', import.meta.url));

/**
 * Samples the api's RSS (every 25 ms from /proc/<pid>/status) and polls /health/live (every
 * ~50 ms) from a separate process, until stop(). `killAboveBytes`: SIGKILL the api past this RSS
 * (a defective build can reach several GB; the case fails either way).
 */
export async function startSampler(
  pid: number,
  apiUrl: string,
  killAboveBytes = 0,
): Promise<{ stop(): Promise<Sample> }> {
  const child = spawn(
    process.execPath,
    [CHILD, String(pid), `${apiUrl}/health/live`, String(killAboveBytes)],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  await new Promise<void>((resolve, reject) => {
    const check = () => {
      if (out.includes('ready\n')) {
        child.stdout!.off('data', check);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', () => reject(new Error(`sampler exited early: ${out}`)));
  });
  return {
    async stop() {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.stdin!.write('stop\n');
      await exited;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (!line) throw new Error(`sampler printed no result: ${out}`);
      return JSON.parse(line) as Sample;
    },
  };
}

export const fmtMiB = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
