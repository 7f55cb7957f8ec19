import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type Service } from '../../scripts/local-stack/processes';
import { Stack } from '../../scripts/local-stack/stack';
import { Supervisor } from '../../scripts/local-stack/supervisor';

/** Whether a process of this id still exists. */
function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('Supervisor: restarts a service that exits unexpectedly (npm run stack)', () => {
  let dir: string;
  const scripts = {
    // Ready at once, then dies with code 3 the first `n` times (a counter file says how often).
    flaky: `const fs = require('node:fs'); const f = process.argv[2]; const n = Number(process.argv[3]);
      const runs = fs.existsSync(f) ? Number(fs.readFileSync(f, 'utf8')) + 1 : 1; fs.writeFileSync(f, String(runs));
      console.log('ready ' + runs); if (runs <= n) setTimeout(() => process.exit(3), 50); else setInterval(() => {}, 1000);`,
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'supervisor-'));
    await writeFile(join(dir, 'flaky.cjs'), scripts.flaky);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const supervise = (counter: string, crashes: number, lines: string[], maxRestarts = 5) => {
    const started: Service[] = [];
    const supervisor = new Supervisor({
      name: 'api',
      start: () => {
        const s = startService('flaky', join(dir, 'flaky.cjs'), {}, join(dir, 'logs'), [
          join(dir, counter),
          String(crashes),
        ]);
        started.push(s);
        return s;
      },
      ready: (s) => s.waitFor(/ready/, 10_000),
      log: (m) => lines.push(m),
      maxRestarts,
      backoffMs: () => 100,
    });
    return { supervisor, started };
  };

  it('should restart a crashed service after a pause and say so', async () => {
    const lines: string[] = [];
    const { supervisor, started } = supervise('twice', 2, lines);
    await supervisor.start();
    await until(() => lines.includes('api restarted') && lines.length === 4);
    expect(lines).toEqual([
      'api exited with code 3 (signal none); restarting in 100 ms (restart 1 of 5 in the last minute)',
      'api restarted',
      'api exited with code 3 (signal none); restarting in 100 ms (restart 2 of 5 in the last minute)',
      'api restarted',
    ]);
    expect(started).toHaveLength(3);
    expect(supervisor.current).toBe(started[2]);
    await supervisor.stop();
    expect(started.map((s) => alive(s.child.pid))).toEqual([false, false, false]);
  });

  it('should report a killed service with its signal', async () => {
    const lines: string[] = [];
    const { supervisor, started } = supervise('killed', 0, lines);
    await supervisor.start();
    await started[0].kill();
    await until(() => lines.includes('api restarted'));
    expect(lines[0]).toBe(
      'api exited with code none (signal SIGKILL); restarting in 100 ms (restart 1 of 5 in the last minute)',
    );
    await supervisor.stop();
    expect(alive(started[1].child.pid)).toBe(false);
  });

  it('should give up on a service that keeps crashing, and say so', async () => {
    const lines: string[] = [];
    const { supervisor, started } = supervise('always', 100, lines, 2);
    await supervisor.start();
    await until(() => lines.some((l) => l.includes('not restarting')));
    expect(lines.at(-1)).toBe(
      'api exited with code 3 (signal none); not restarting it: 2 restarts in the last minute (see its log)',
    );
    expect(started).toHaveLength(3);
    await supervisor.stop();
  });

  it('should not restart a service it was told to stop', async () => {
    const lines: string[] = [];
    const { supervisor, started } = supervise('stopped', 0, lines);
    await supervisor.start();
    await supervisor.stop();
    await new Promise((r) => setTimeout(r, 300));
    expect(lines).toEqual([]);
    expect(started).toHaveLength(1);
    expect(alive(started[0].child.pid)).toBe(false);
  });
});

describe('Stack with supervise (npm run stack): a crashed api comes back on its address', () => {
  let dir: string;
  let stack: Stack;
  const lines: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stack-supervised-'));
    stack = await new Stack({
      dir,
      consortium: `supervised ${Date.now()}`,
      institutions: [],
      supervise: true,
      log: (m) => lines.push(m),
    }).start();
  });
  afterAll(async () => {
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('should restart a killed api, say so, and stop every process on stop()', async () => {
    const url = stack.apiUrl;
    const first = stack.api;
    await first.kill();
    await until(() => lines.includes('api restarted'), 120_000);
    expect(lines).toContain(
      'api exited with code none (signal SIGKILL); restarting in 1 s (restart 1 of 5 in the last minute)',
    );
    expect(stack.api).not.toBe(first);
    expect(stack.apiUrl).toBe(url);
    expect((await fetch(`${url}/health/live`)).status).toBe(200);

    const pids = [stack.api.child.pid, stack.aggregator.child.pid];
    await stack.stop();
    expect(pids.map(alive)).toEqual([false, false]);
    expect(lines.filter((l) => / exited /.test(l))).toHaveLength(1);
  });
});
