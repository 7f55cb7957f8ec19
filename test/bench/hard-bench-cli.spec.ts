import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HARD_BENCH = fileURLToPath(new URL('../../dist/bench/hard-bench.js', import.meta.url));

/** Runs the built `npm run bench:hard` in an empty folder; nothing is measured. */
function runHardBench(args: string[]) {
  if (!existsSync(HARD_BENCH)) throw new Error(`${HARD_BENCH} is missing: run \`npm run build\` first`);
  const cwd = mkdtempSync(join(tmpdir(), 'hard-bench-'));
  const r = spawnSync(process.execPath, [HARD_BENCH, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, SCPRIVACY_DATASETS: '' },
    timeout: 60_000,
  });
  return { ...r, cwd };
}

describe('npm run bench:hard, started wrongly', () => {
  it('lists its cases', () => {
    const r = runHardBench(['--list']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('pancreas:wang-only\tsingle-study');
    expect(r.stdout).toContain('pbmc:without-t-nk-cells\tleave-one-type-out');
  });

  it.each([
    [['--cases', 'pancreas:nowhere'], /--cases: unknown case "pancreas:nowhere"/],
    [['--seeds', 'x'], /--seeds: expected seeds/],
    [['--baselines', 'svm'], /--baselines: unknown baseline "svm"/],
    [['--rounds', '0'], /--rounds: expected a positive integer/],
    [
      ['--variable-genes-per-cell', '2.5'],
      /--variable-genes-per-cell: expected 0 \(no cap\) or a whole number/,
    ],
    [
      ['--detected-values-per-gene', '-40'],
      /--detected-values-per-gene: expected 0 \(no cap\) or a whole number from 1 to 1000000/,
    ],
    [['--hidden-size', '0'], /--hidden-size: expected a positive integer, got "0"/],
    [['--embedding-size', '2.5'], /--embedding-size: expected a positive integer, got "2.5"/],
    [['--softmax-head', '0.1,-1'], /--softmax-head: expected positive numbers, comma-separated/],
    [['--data', '/nonexistent-datasets'], /\/nonexistent-datasets does not exist/],
  ])('refuses %j with one message, exit code 2 and no stack trace', (args, message) => {
    const r = runHardBench(args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^error: /);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(r.cwd, 'bench-output'))).toBe(false);
  });
});
