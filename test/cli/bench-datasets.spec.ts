import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCH = fileURLToPath(new URL('../../dist/bench/benchmark.js', import.meta.url));
const STACK_BENCH = fileURLToPath(new URL('../../dist/bench/stack-bench.js', import.meta.url));

/** Runs a built benchmark as `npm run bench` would, from `cwd`; nothing is measured. */
function runBench(script: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  if (!existsSync(script)) throw new Error(`${script} is missing: run \`npm run build\` first`);
  const r = spawnSync(process.execPath, [script, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, SCPRIVACY_DATASETS: '', ...env },
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the benchmarks without their datasets', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bench-data-'));
    await mkdir(join(dir, 'repo'));
    await mkdir(join(dir, 'partial', 'pbmc', 'reference'), { recursive: true });
    await mkdir(join(dir, 'partial', 'pbmc', 'query'), { recursive: true });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('should say where npm run bench expects the datasets and how to point elsewhere, without a stack trace', () => {
    // A clone with no ../shared beside it.
    const r = runBench(BENCH, [], join(dir, 'repo'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^error: /);
    expect(r.stderr).toContain(join(dir, 'shared', 'datasets'));
    expect(r.stderr).toMatch(/--data <dir>/);
    expect(r.stderr).toMatch(/SCPRIVACY_DATASETS/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(dir, 'repo', 'bench-output'))).toBe(false);
  });

  it('should name the folder given with --data when it does not exist', () => {
    const r = runBench(BENCH, ['--data', join(dir, 'nowhere')], join(dir, 'repo'));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(join(dir, 'nowhere'));
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('should read SCPRIVACY_DATASETS and name the scenario folder that is missing there', () => {
    const r = runBench(BENCH, ['--scenarios', 'pbmc,pancreas'], join(dir, 'repo'), {
      SCPRIVACY_DATASETS: join(dir, 'partial'),
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(join(dir, 'partial', 'pancreas'));
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('should say the same for npm run bench:stack before starting any service', () => {
    const r = runBench(STACK_BENCH, ['--data', join(dir, 'nowhere')], join(dir, 'repo'));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(join(dir, 'nowhere'));
    expect(r.stderr).toMatch(/SCPRIVACY_DATASETS/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
