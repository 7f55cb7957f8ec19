import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXAMPLES, runCli } from './run-cli';

describe('scprivacy run / annotate / evaluate', () => {
  let dir: string;
  let run: ReturnType<typeof runCli>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cli-run-'));
    run = runCli([
      'run',
      '--train',
      join(EXAMPLES, 'train'),
      '--test',
      join(EXAMPLES, 'test'),
      '--out',
      join(dir, 'out', 'result.txt'),
      '--model-dir',
      join(dir, 'model'),
      '--rounds',
      '40',
      '--seed',
      '3',
      '--json',
    ]);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('should train, save a bundle and write result.txt in query row order', async () => {
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const result = (await readFile(join(dir, 'out', 'result.txt'), 'utf8')).trimEnd().split('\n');
    const truth = (await readFile(join(EXAMPLES, 'truth', 'pbmc_10x_3p_v3.labels.tsv'), 'utf8'))
      .trimEnd()
      .split('\n');
    expect(result.map((l) => l.split('\t')[0])).toEqual(truth.map((l) => l.split('\t')[0]));
    const labels = new Set(result.map((l) => l.split('\t')[1]));
    for (const l of labels) expect(['B cells', 'Monocytes', 'T/NK cells', 'DC', 'Platelet']).toContain(l);
    expect((await stat(join(dir, 'model', 'manifest.json'))).isFile()).toBe(true);
  });

  it('should print a JSON summary with the backend and the options', () => {
    const summary = JSON.parse(run.stdout);
    expect(['wasm', 'cpu', 'tensorflow', 'tensorflow-gpu']).toContain(summary.backend);
    expect(summary.options).toMatchObject({ rounds: 40, seed: 3, localSteps: 1, learningRate: 0.0005 });
    expect(summary.annotation.cells).toBe(210);
  });

  it('should write predictions.csv with confidence and the winning institution', async () => {
    const lines = (await readFile(join(dir, 'out', 'predictions.csv'), 'utf8')).trimEnd().split('\n');
    expect(lines[0]).toBe('cell_id,label,confidence,best_institution,query_file');
    expect(lines).toHaveLength(211);
    const [, , confidence, institution, file] = lines[1].split(',');
    expect(Number(confidence)).toBeGreaterThan(-1);
    expect(Number(confidence)).toBeLessThanOrEqual(1);
    expect(['pbmc3k_10x_v1', 'pbmc_10x_3p_v2', 'pbmc_10x_5p_vdj']).toContain(institution);
    expect(file).toBe('pbmc_10x_3p_v3.csv.gz');
  });

  it('should annotate with the saved bundle exactly as the run did', async () => {
    const again = runCli([
      'annotate',
      '--model',
      join(dir, 'model'),
      '--test',
      join(EXAMPLES, 'test'),
      '--out',
      join(dir, 'again', 'result.txt'),
      '-q',
    ]);
    expect(again.status).toBe(0);
    expect(await readFile(join(dir, 'again', 'result.txt'), 'utf8')).toBe(
      await readFile(join(dir, 'out', 'result.txt'), 'utf8'),
    );
    expect(await readFile(join(dir, 'again', 'predictions.csv'), 'utf8')).toBe(
      await readFile(join(dir, 'out', 'predictions.csv'), 'utf8'),
    );
  });

  it('should train in the clear with --secure-aggregation off, warn, and predict the same labels', async () => {
    const plain = runCli([
      'run',
      '--train',
      join(EXAMPLES, 'train'),
      '--test',
      join(EXAMPLES, 'test'),
      '--out',
      join(dir, 'plain', 'result.txt'),
      '--model-dir',
      join(dir, 'plain-model'),
      '--rounds',
      '40',
      '--seed',
      '3',
      '--secure-aggregation',
      'off',
    ]);
    expect(plain.status).toBe(0);
    expect(plain.stderr).toMatch(/secure aggregation is off/);
    const manifest = JSON.parse(await readFile(join(dir, 'plain-model', 'manifest.json'), 'utf8'));
    expect(manifest.options.aggregation).toBe('fedavg-uniform');
    const secureManifest = JSON.parse(await readFile(join(dir, 'model', 'manifest.json'), 'utf8'));
    expect(secureManifest.options.aggregation).toBe('secagg-fedavg-uniform');
    const labels = async (f: string) =>
      (await readFile(f, 'utf8'))
        .trimEnd()
        .split('\n')
        .map((l) => l.split('\t')[1]);
    const a = await labels(join(dir, 'plain', 'result.txt'));
    const b = await labels(join(dir, 'out', 'result.txt'));
    // The models differ only by fixed-point rounding, so (almost) every label agrees.
    expect(a.filter((l, i) => l === b[i]).length).toBeGreaterThanOrEqual(a.length - 2);
  });

  it('should label low-confidence cells unassigned with --reject-threshold', async () => {
    const r = runCli([
      'annotate',
      '--model',
      join(dir, 'model'),
      '--test',
      join(EXAMPLES, 'test'),
      '--out',
      join(dir, 'rej', 'result.txt'),
      '--reject-threshold',
      '0.999',
      '-q',
    ]);
    expect(r.status).toBe(0);
    const labels = (await readFile(join(dir, 'rej', 'result.txt'), 'utf8'))
      .trimEnd()
      .split('\n')
      .map((l) => l.split('\t')[1]);
    expect(labels.filter((l) => l === 'unassigned').length).toBeGreaterThan(100);
  });

  it('should choose a threshold per predicted type with --reject-threshold auto', async () => {
    const r = runCli([
      'annotate',
      '--model',
      join(dir, 'model'),
      '--test',
      join(EXAMPLES, 'test'),
      '--out',
      join(dir, 'auto', 'result.txt'),
      '--reject-threshold',
      'auto',
      '--json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const { annotation } = JSON.parse(r.stdout) as {
      annotation: {
        cells: number;
        unassigned: number;
        queries: { autoThresholds: Record<string, number> }[];
      };
    };
    const thresholds = annotation.queries[0].autoThresholds;
    expect(Object.keys(thresholds).length).toBeGreaterThan(0);
    for (const threshold of Object.values(thresholds)) {
      expect(threshold).toBeGreaterThan(-1);
      expect(threshold).toBeLessThan(1);
    }
    // Outliers of their type only: some cells, far fewer than a fixed high threshold takes.
    expect(annotation.unassigned).toBeGreaterThan(0);
    expect(annotation.unassigned).toBeLessThan(0.15 * annotation.cells);
    const labels = (await readFile(join(dir, 'auto', 'result.txt'), 'utf8')).trimEnd().split('\n');
    expect(labels.filter((l) => l.endsWith('\tunassigned')).length).toBe(annotation.unassigned);
  });

  it('should refuse a --reject-threshold that is neither a correlation nor auto', () => {
    const r = runCli([
      'annotate',
      '--model',
      join(dir, 'model'),
      '--test',
      join(EXAMPLES, 'test'),
      '--reject-threshold',
      'high',
    ]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(
      /--reject-threshold is a Pearson correlation between -1 and 1, or "auto", got "high"/,
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('should score the predictions and draw the confusion matrix', async () => {
    const r = runCli([
      'evaluate',
      '--pred',
      join(dir, 'out', 'result.txt'),
      '--truth',
      join(EXAMPLES, 'truth', 'pbmc_10x_3p_v3.labels.tsv'),
      '--figure',
      join(dir, 'confusion.png'),
      '--report',
      join(dir, 'metrics.json'),
    ]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Accuracy/);
    const metrics = JSON.parse(await readFile(join(dir, 'metrics.json'), 'utf8'));
    // 40 rounds on 1,000 genes already separates the three query types well.
    expect(metrics.accuracy).toBeGreaterThan(0.8);
    const png = await readFile(join(dir, 'confusion.png'));
    expect(png.subarray(1, 4).toString()).toBe('PNG');
  });
});
