import { afterEach, describe, expect, it } from 'vitest';
import { WorkerPool, type WorkerPoolOptions } from './worker-pool';

// A stand-in worker: echoes with its thread id, spins for ever, or fills its heap.
const WORKER = `
const { parentPort, threadId } = require('node:worker_threads');
parentPort.on('message', (m) => {
  if (m === 'spin') for (;;) {}
  if (m === 'grow') { const keep = []; for (;;) keep.push(new Array(1e5).fill(Math.random())); }
  if (m === 'exit') process.exit(3);
  parentPort.postMessage({ echo: m, threadId });
});
`;

type Echo = { echo: unknown; threadId: number };

describe('WorkerPool', () => {
  let pool: WorkerPool<unknown, Echo>;
  const make = (o: Partial<WorkerPoolOptions> = {}) =>
    (pool = new WorkerPool<unknown, Echo>({
      script: WORKER,
      eval: true,
      size: 1,
      maxQueue: 1,
      timeoutMs: 60_000,
      maxMemoryMb: 64,
      ...o,
    }));

  afterEach(async () => {
    await pool?.close();
  });

  it('should answer each job and reuse an idle thread', async () => {
    make();
    const first = await pool.run('a');
    const second = await pool.run('b');
    expect(first).toMatchObject({ kind: 'result', result: { echo: 'a' } });
    expect(second).toMatchObject({ kind: 'result', result: { echo: 'b' } });
    if (first.kind === 'result' && second.kind === 'result')
      expect(second.result.threadId).toBe(first.result.threadId);
  });

  it('should give the first job the thread started by warm()', async () => {
    make();
    pool.warm();
    pool.warm();
    const first = await pool.run('a');
    expect(first).toMatchObject({ kind: 'result', result: { echo: 'a' } });
    expect(pool.load).toEqual({ running: 0, queued: 0 });
  });

  it('should end a job that overruns its time and run the next one on a fresh thread', async () => {
    make({ timeoutMs: 200 });
    const before = await pool.run('a');
    expect(await pool.run('spin')).toEqual({ kind: 'timeout' });
    const after = await pool.run('b');
    expect(after).toMatchObject({ kind: 'result', result: { echo: 'b' } });
    if (before.kind === 'result' && after.kind === 'result')
      expect(after.result.threadId).not.toBe(before.result.threadId);
  });

  it("should report a thread that runs out of heap as 'memory', not crash the process", async () => {
    make({ maxMemoryMb: 32 });
    expect(await pool.run('grow')).toEqual({ kind: 'memory' });
    expect(await pool.run('c')).toMatchObject({ kind: 'result', result: { echo: 'c' } });
  });

  it("should report a thread that exits as 'crashed'", async () => {
    make();
    expect(await pool.run('exit')).toEqual({ kind: 'crashed', message: 'the thread exited with code 3' });
  });

  it('should queue up to maxQueue jobs, answer busy beyond, and drop a job whose caller gave up', async () => {
    make({ size: 1, maxQueue: 1 });
    const running = new AbortController();
    const waiting = new AbortController();
    const spin = pool.run('spin', running.signal);
    const queued = pool.run('d', waiting.signal);
    expect(await pool.run('e')).toEqual({ kind: 'busy' });
    expect(pool.load).toEqual({ running: 1, queued: 1 });
    waiting.abort();
    expect(await queued).toEqual({ kind: 'aborted' });
    running.abort();
    expect(await spin).toEqual({ kind: 'aborted' });
    expect(pool.load).toEqual({ running: 0, queued: 0 });
    expect(await pool.run('f')).toMatchObject({ kind: 'result', result: { echo: 'f' } });
  });

  it('should run a queued job once the thread is free', async () => {
    make({ size: 1, maxQueue: 2 });
    const answers = await Promise.all(['g', 'h', 'i'].map((m) => pool.run(m)));
    expect(answers.map((a) => a.kind === 'result' && a.result.echo)).toEqual(['g', 'h', 'i']);
  });

  it("should end running and waiting jobs as 'stopped' when closed", async () => {
    make({ size: 1, maxQueue: 1 });
    const spin = pool.run('spin');
    const queued = pool.run('j');
    await pool.close();
    expect(await spin).toEqual({ kind: 'stopped' });
    expect(await queued).toEqual({ kind: 'stopped' });
    expect(await pool.run('k')).toEqual({ kind: 'stopped' });
  });
});
