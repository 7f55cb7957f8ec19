import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runChild } from './child-job';

/** Synthetic children: each receives one message and behaves as its name says. */
const CHILDREN: Record<string, string> = {
  echo: `process.once('message', (m) => process.send({ result: m.n * 2 }, () => process.exit(0)));`,
  // Buffers live outside the V8 heap: only the RSS poll can see them.
  buffers: `const kept = []; process.once('message', () => {
    setInterval(() => { const b = Buffer.alloc(32 * 1024 * 1024, 1); kept.push(b); }, 20);
  });`,
  heap: `const kept = []; process.once('message', () => {
    for (;;) kept.push({ a: Math.random(), b: [1, 2, 3], c: 'x'.repeat(16) + Math.random() });
  });`,
  spin: `process.once('message', () => { for (;;) {} });`,
  exit3: `process.once('message', () => process.exit(3));`,
  idle: `process.once('message', () => setInterval(() => {}, 1000));`,
};

describe('runChild: a job in a child process with time and memory limits', () => {
  let dir: string;
  const script = (name: string) => join(dir, `${name}.mjs`);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'child-job-'));
    for (const [name, code] of Object.entries(CHILDREN)) await writeFile(script(name), code);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const generous = { timeoutMs: 30_000, maxMemoryMb: 1024 };

  it("should return the child's answer", async () => {
    const run = runChild<{ n: number }, number>(script('echo'), { n: 21 }, generous);
    expect(await run.outcome).toMatchObject({ kind: 'result', result: 42 });
  });

  it('should kill a child whose memory outside the V8 heap exceeds the limit', async () => {
    const run = runChild(script('buffers'), {}, { timeoutMs: 30_000, maxMemoryMb: 200, pollMs: 50 });
    const outcome = await run.outcome;
    expect(outcome.kind).toBe('memory');
    expect((outcome as { rssMb: number }).rssMb).toBeGreaterThan(200);
  });

  it('should stop a child whose V8 heap exceeds the limit', async () => {
    const run = runChild(script('heap'), {}, { timeoutMs: 30_000, maxMemoryMb: 96 });
    expect((await run.outcome).kind).toBe('memory');
  });

  it('should kill a child that runs longer than the time limit, even with a busy event loop', async () => {
    const run = runChild(script('spin'), {}, { timeoutMs: 300, maxMemoryMb: 1024 });
    expect(await run.outcome).toEqual({ kind: 'timeout' });
  });

  it('should report a child that exits without an answer', async () => {
    const run = runChild(script('exit3'), {}, generous);
    expect(await run.outcome).toMatchObject({ kind: 'crashed', code: 3, signal: null });
    const missing = runChild(join(dir, 'missing.mjs'), {}, generous);
    const outcome = await missing.outcome;
    expect(outcome.kind).toBe('crashed');
    expect((outcome as { output: string }).output).toMatch(/missing\.mjs/);
  });

  it('should kill the child when told to stop', async () => {
    const run = runChild(script('idle'), {}, generous);
    setTimeout(() => run.stop(), 100);
    expect(await run.outcome).toEqual({ kind: 'stopped' });
  });
});
