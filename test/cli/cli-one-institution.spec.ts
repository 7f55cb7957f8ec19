import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXAMPLES, runCli, type CliResult } from './run-cli';

/**
 * `scprivacy run` on a --train folder with one reference file: one institution, so secure
 * aggregation (on by default) has nothing to aggregate and nobody to hide from. The run trains
 * without it, says so, records it, and gives the model of an explicit --secure-aggregation off run.
 */

const SKIPPED_LINE =
  'One institution: secure aggregation is not needed (there is nothing to aggregate and no other party); ' +
  'training without it.';

describe('scprivacy run with one institution', () => {
  let dir: string;
  let asked: CliResult;
  let off: CliResult;

  /** A small run on the one-file folder; `name` is its output folder. */
  const run = (name: string, extra: string[]) =>
    runCli([
      'run',
      '--train',
      join(dir, 'train'),
      '--test',
      join(EXAMPLES, 'test'),
      '--out',
      join(dir, name, 'result.txt'),
      '--model-dir',
      join(dir, name, 'model'),
      '--rounds',
      '3',
      '--hidden-size',
      '32',
      '--embedding-size',
      '8',
      '--threads',
      '1',
      '--json',
      join(dir, name, 'summary.json'),
      ...extra,
    ]);
  const json = async (name: string, file: string) =>
    JSON.parse(await readFile(join(dir, name, file), 'utf8')) as Record<string, unknown> & {
      options: Record<string, unknown>;
    };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cli-one-institution-'));
    await mkdir(join(dir, 'train'));
    await copyFile(
      join(EXAMPLES, 'train', 'pbmc3k_10x_v1.csv.gz'),
      join(dir, 'train', 'pbmc3k_10x_v1.csv.gz'),
    );
    asked = run('default', []); // secure aggregation on, the default
    off = run('off', ['--secure-aggregation', 'off']);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('should train without secure aggregation and say so in one plain line', () => {
    expect(asked.status).toBe(0);
    expect(asked.stderr).toContain(`${SKIPPED_LINE}\n`);
    expect(asked.stderr).toMatch(/Trained 1 institution x /);
    expect(asked.stderr).not.toMatch(/warning: secure aggregation is off/);
    expect(asked.stderr).not.toMatch(/unexpected error|^error:/m);
    expect(asked.stdout).toBe('');
  });

  it('should record the skipped secure aggregation in the --json summary', async () => {
    const summary = await json('default', 'summary.json');
    expect(summary.secureAggregationSkipped).toEqual({ reason: 'single-institution', message: SKIPPED_LINE });
    expect(summary.secureAggregation).toBeUndefined();
    expect(summary.options.aggregation).toBe('fedavg-uniform');
    expect((await json('off', 'summary.json')).secureAggregationSkipped).toBeUndefined();
  });

  it("should record the aggregation actually used in the model's manifest", async () => {
    const manifest = await json('default', join('model', 'manifest.json'));
    expect(manifest.options.aggregation).toBe('fedavg-uniform');
    expect(manifest.options.secureAggregationSkipped).toEqual({
      reason: 'single-institution',
      message: SKIPPED_LINE,
    });
    const offManifest = await json('off', join('model', 'manifest.json'));
    expect(offManifest.options.aggregation).toBe('fedavg-uniform');
    expect(offManifest.options.secureAggregationSkipped).toBeUndefined();
  });

  it('should give the model and predictions of an explicit --secure-aggregation off run, bit for bit', async () => {
    expect(off.status).toBe(0);
    expect(off.stderr).not.toContain(SKIPPED_LINE);
    for (const file of ['weights.bin', 'landmarks.json', 'genes.txt']) {
      const a = await readFile(join(dir, 'default', 'model', file));
      expect(a.equals(await readFile(join(dir, 'off', 'model', file))), file).toBe(true);
    }
    expect(await readFile(join(dir, 'default', 'predictions.csv'), 'utf8')).toBe(
      await readFile(join(dir, 'off', 'predictions.csv'), 'utf8'),
    );
  });
});
