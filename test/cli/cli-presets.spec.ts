import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXAMPLES, runCli } from './run-cli';

/** `scprivacy run --preset`: published stays the published method; ensemble adds models. */
describe('scprivacy run --preset', () => {
  let dir: string;
  const train = (name: string, extra: string[], quiet = true) =>
    runCli([
      'run',
      '--train',
      join(EXAMPLES, 'train'),
      '--test',
      join(EXAMPLES, 'test'),
      '--out',
      join(dir, name, 'result.txt'),
      '--model-dir',
      join(dir, name, 'model'),
      '--rounds',
      '30',
      '--seed',
      '5',
      '--secure-aggregation',
      'off',
      ...(quiet ? ['-q'] : []),
      ...extra,
    ]);
  const file = (name: string, path: string) => readFile(join(dir, name, path));
  /** `scprivacy annotate` with run `name`'s saved model; its files go to `<out>/`. */
  const annotateAgain = (name: string, out: string) =>
    runCli([
      'annotate',
      '--model',
      join(dir, name, 'model'),
      '--test',
      join(EXAMPLES, 'test'),
      '--out',
      join(dir, out, 'result.txt'),
      '-q',
    ]);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cli-presets-'));
    for (const [name, extra] of [
      ['default', []],
      ['published', ['--preset', 'published']],
      ['dropout', ['--input-dropout', '0.2']],
      ['ensemble', ['--preset', 'ensemble', '--ensemble-size', '2']],
      // 100 genes per institution, three institutions: 300 of the union's genes.
      ['variable', ['--preset', 'variable-genes', '--variable-genes', '100']],
      // The same genes and seed: its first model must be the 'variable' run's model.
      [
        'variable-ensemble',
        ['--preset', 'variable-genes-ensemble', '--variable-genes', '100', '--ensemble-size', '2'],
      ],
    ] as const) {
      const r = train(name, [...extra]);
      expect(r.stderr, name).toMatch(/^(warning: secure aggregation is off[^\n]*\n)?$/);
      expect(r.status, name).toBe(0);
    }
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('gives the same model bit for bit with --preset published as without a preset', async () => {
    expect(
      (await file('published', 'model/weights.bin')).equals(await file('default', 'model/weights.bin')),
    ).toBe(true);
    expect(
      (await file('published', 'model/landmarks.json')).equals(await file('default', 'model/landmarks.json')),
    ).toBe(true);
    expect((await file('published', 'result.txt')).equals(await file('default', 'result.txt'))).toBe(true);
  });

  it('trains an ensemble whose first model is the single model of the same seed, and records it', async () => {
    const manifest = JSON.parse((await file('ensemble', 'model/manifest.json')).toString()) as {
      options: { ensembleSize: number; preset: string; rounds: number };
      files: Record<string, string>;
    };
    expect(manifest.options).toMatchObject({ ensembleSize: 2, preset: 'ensemble', rounds: 30 });
    expect(Object.keys(manifest.files).sort()).toEqual([
      'genes.txt',
      'landmarks-1.json',
      'landmarks.json',
      'weights-1.bin',
      'weights.bin',
    ]);
    expect(
      (await file('ensemble', 'model/weights.bin')).equals(await file('default', 'model/weights.bin')),
    ).toBe(true);
    expect(
      (await file('ensemble', 'model/weights-1.bin')).equals(await file('default', 'model/weights.bin')),
    ).toBe(false);
  });

  it('annotates again from the saved ensemble exactly as the run did', async () => {
    const r = annotateAgain('ensemble', 'again');
    expect(r.status).toBe(0);
    expect(
      (await readFile(join(dir, 'again', 'predictions.csv'))).equals(
        await file('ensemble', 'predictions.csv'),
      ),
    ).toBe(true);
    // Averaging over two models changes some predictions' confidence, not the file's shape.
    const rows = (await file('ensemble', 'result.txt')).toString().trimEnd().split('\n');
    const single = (await file('default', 'result.txt')).toString().trimEnd().split('\n');
    expect(rows.length).toBe(single.length);
    expect((await file('ensemble', 'predictions.csv')).equals(await file('default', 'predictions.csv'))).toBe(
      false,
    );
  });

  it('trains on the chosen number of most variable genes, records it, and annotates again the same', async () => {
    const manifest = JSON.parse((await file('variable', 'model/manifest.json')).toString()) as {
      options: { variableGenes: number; preset: string };
      geneCount: number;
    };
    expect(manifest.options).toMatchObject({ variableGenes: 100, preset: 'variable-genes' });
    expect(manifest.geneCount).toBe(300);
    const genes = (await file('variable', 'model/genes.txt')).toString().trimEnd().split('\n');
    const all = (await file('default', 'model/genes.txt')).toString().trimEnd().split('\n');
    expect(genes).toHaveLength(300);
    expect(all.length).toBeGreaterThan(300);
    // A subset of the union, in the union's order.
    expect(all.filter((g) => genes.includes(g))).toEqual(genes);
    const r = annotateAgain('variable', 'variable-again');
    expect(r.status).toBe(0);
    expect(
      (await readFile(join(dir, 'variable-again', 'predictions.csv'))).equals(
        await file('variable', 'predictions.csv'),
      ),
    ).toBe(true);
  });

  it('trains the variable-genes ensemble on the same genes, its first model the single model of the seed', async () => {
    const manifest = JSON.parse((await file('variable-ensemble', 'model/manifest.json')).toString()) as {
      options: { variableGenes: number; ensembleSize: number; preset: string; rounds: number };
      geneCount: number;
    };
    expect(manifest.options).toMatchObject({
      variableGenes: 100,
      ensembleSize: 2,
      preset: 'variable-genes-ensemble',
      rounds: 30,
    });
    expect(manifest.geneCount).toBe(300);
    for (const path of ['model/genes.txt', 'model/weights.bin', 'model/landmarks.json']) {
      expect((await file('variable-ensemble', path)).equals(await file('variable', path)), path).toBe(true);
    }
    // The second model (another seed) differs from the first, and annotation averages both.
    expect(
      (await file('variable-ensemble', 'model/weights-1.bin')).equals(
        await file('variable', 'model/weights.bin'),
      ),
    ).toBe(false);
    const r = annotateAgain('variable-ensemble', 'variable-ensemble-again');
    expect(r.status).toBe(0);
    expect(
      (await readFile(join(dir, 'variable-ensemble-again', 'predictions.csv'))).equals(
        await file('variable-ensemble', 'predictions.csv'),
      ),
    ).toBe(true);
  });

  it('trains with gene dropout when asked, records it, and annotates again the same', async () => {
    const manifest = JSON.parse((await file('dropout', 'model/manifest.json')).toString()) as {
      options: Record<string, unknown>;
    };
    expect(manifest.options.inputDropout).toBe(0.2);
    const plain = JSON.parse((await file('default', 'model/manifest.json')).toString()) as typeof manifest;
    expect(plain.options).not.toHaveProperty('inputDropout');
    // The same seed and batches, but values dropped: another model.
    expect(
      (await file('dropout', 'model/weights.bin')).equals(await file('default', 'model/weights.bin')),
    ).toBe(false);
    const r = annotateAgain('dropout', 'dropout-again');
    expect(r.status).toBe(0);
    expect(
      (await readFile(join(dir, 'dropout-again', 'predictions.csv'))).equals(
        await file('dropout', 'predictions.csv'),
      ),
    ).toBe(true);
  });

  it('drops genes only at institutions detecting enough of their genes, and says which', async () => {
    // The example files hold a few hundred well-detected genes: 27% detected in a pbmc3k cell,
    // 35% and 38% in the other two.
    const r = train('bounded', ['--input-dropout', '0.2', '--input-dropout-min-detection', '0.3'], false);
    expect(r.status).toBe(0);
    const log = r.stdout + r.stderr;
    expect(log).toContain('Gene dropout at pbmc3k_10x_v1: none (a cell detects 27% of its genes)');
    expect(log).toContain('Gene dropout at pbmc_10x_3p_v2: 0.2 (a cell detects 35% of its genes)');
    const manifest = JSON.parse((await file('bounded', 'model/manifest.json')).toString()) as {
      options: Record<string, unknown>;
    };
    expect(manifest.options).toMatchObject({ inputDropout: 0.2, inputDropoutMinDetection: 0.3 });
    const bad = runCli(['run', '--train', join(EXAMPLES, 'train'), '--input-dropout-min-detection', '1.5']);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain(
      '--input-dropout-min-detection must be a fraction from 0 (every institution) to 1, got "1.5"',
    );
  });

  it('refuses a gene dropout outside 0-0.9, naming the option', () => {
    for (const bad of ['1', '-0.1', 'lots']) {
      const r = runCli(['run', '--train', join(EXAMPLES, 'train'), '--input-dropout', bad]);
      expect(r.status, bad).not.toBe(0);
      expect(r.stderr).toContain(`--input-dropout must be a number from 0 (none) to 0.9, got "${bad}"`);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('caps the variable genes per reference cell at each institution, and records it', async () => {
    // 200 per institution, at most 1 per cell: pbmc3k's 196 cells keep 196, the others 120 each.
    const r = train('capped', ['--variable-genes', '200', '--variable-genes-per-cell', '1'], false);
    expect(r.status).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/chose the 436 most variable of the institutions' \d+ genes/);
    const manifest = JSON.parse((await file('capped', 'model/manifest.json')).toString()) as {
      options: Record<string, unknown>;
      geneCount: number;
    };
    expect(manifest.options).toMatchObject({ variableGenes: 200, variableGenesPerCell: 1 });
    expect(manifest.geneCount).toBe(436);
  });

  it('caps the variable genes per detected values at each institution, and records it', async () => {
    // 200 per institution, at most one per 400 detected values: pbmc3k's 196 cells detect 52,406
    // values (131 genes), 3p_v2's 120 cells 41,926 (105), 5p_vdj's 120 cells 45,230 (113). By
    // cells the order would be the other way round for pbmc3k (its cells detect the fewest genes).
    const r = train('detected', ['--variable-genes', '200', '--detected-values-per-gene', '400'], false);
    expect(r.status).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/chose the 349 most variable of the institutions' \d+ genes/);
    expect(r.stderr).not.toContain('ignored'); // the caps apply with variable genes
    const manifest = JSON.parse((await file('detected', 'model/manifest.json')).toString()) as {
      options: Record<string, unknown>;
      geneCount: number;
    };
    expect(manifest.options).toMatchObject({ variableGenes: 200, detectedValuesPerGene: 400 });
    expect(manifest.options).not.toHaveProperty('variableGenesPerCell');
    expect(manifest.geneCount).toBe(349);
  });

  it.each([
    ['--variable-genes-per-cell', 10_000, ['-1', '1.5', 'many']],
    ['--detected-values-per-gene', 1_000_000, ['-1', '2.5', 'many', '']],
  ] as const)('refuses a bad %s, naming the option and its range', (flag, max, bads) => {
    for (const bad of bads) {
      const refused = runCli(['run', '--train', join(EXAMPLES, 'train'), flag, bad]);
      expect(refused.status, bad).not.toBe(0);
      expect(refused.stderr).toContain(
        `${flag} must be 0 (no cap) or a whole number from 1 to ${max}, got "${bad}"`,
      );
      expect(refused.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('trains with --preset recommended and records its values, the cap per detected values among them', async () => {
    const r = train('recommended', ['--preset', 'recommended', '--rounds', '3'], false);
    expect(r.status).toBe(0);
    const manifest = JSON.parse((await file('recommended', 'model/manifest.json')).toString()) as {
      options: Record<string, unknown>;
    };
    expect(manifest.options).toMatchObject({
      preset: 'recommended',
      rounds: 3,
      ensembleSize: 3,
      variableGenes: 2000,
      detectedValuesPerGene: 40,
      inputDropout: 0.2,
      inputDropoutMinDetection: 0.2,
    });
  });

  it('says that a gene cap without variable genes is ignored, and does not record it', async () => {
    const r = train(
      'cap-ignored',
      ['--detected-values-per-gene', '400', '--variable-genes-per-cell', '1'],
      false,
    );
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(
      'warning: --variable-genes-per-cell and --detected-values-per-gene cap the variable genes, but this run trains on every gene (preset published without --variable-genes): ignored',
    );
    const manifest = JSON.parse((await file('cap-ignored', 'model/manifest.json')).toString()) as {
      options: Record<string, unknown>;
    };
    expect(manifest.options).not.toHaveProperty('detectedValuesPerGene');
    expect(manifest.options).not.toHaveProperty('variableGenesPerCell');
  });

  it('refuses fewer than 50 variable genes, naming the option', () => {
    const r = runCli(['run', '--train', join(EXAMPLES, 'train'), '--variable-genes', '20']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(
      /--variable-genes must be 0 \(every gene\) or a whole number of at least 50, got "20"/,
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses an ensemble size outside 1-16, naming the option', () => {
    const r = runCli(['run', '--train', join(EXAMPLES, 'train'), '--ensemble-size', '17']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/--ensemble-size must be a whole number from 1 to 16, got "17"/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses an unknown preset, naming the choices', () => {
    const r = runCli(['run', '--train', join(EXAMPLES, 'train'), '--preset', 'best']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(
      /--preset <name>' argument 'best' is invalid. Allowed choices are published, ensemble, variable-genes, variable-genes-ensemble, variable-genes-ensemble-dropout, recommended/,
    );
  });
});
