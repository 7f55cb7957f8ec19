import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readExpression } from '@fl/formats';
import { runCli } from './run-cli';

/**
 * Raw counts, genes x cells, 700 genes (MT-1..MT-10 first) and four cells:
 *   good:     600 genes detected with 3 counts each (1,800), 5 MT- genes with 1 count (5/1,805 < 10%)
 *   fewgenes: 400 genes x 5 counts = 2,000 counts, but only 400 <= 500 genes
 *   lowcount: 600 genes x 2 counts = 1,200 <= 1,500 counts
 *   mito:     600 genes x 3 counts + 10 MT- genes x 30 = 300/2,100 = 14% >= 10%
 */
function rawCounts(): string {
  const genes = [
    ...Array.from({ length: 10 }, (_, i) => `MT-${i + 1}`),
    ...Array.from({ length: 690 }, (_, i) => `G${i}`),
  ];
  const count = (cell: string, g: number): number => {
    const mito = g < 10;
    const k = g - 10;
    switch (cell) {
      case 'good':
        return mito ? (g < 5 ? 1 : 0) : k < 600 ? 3 : 0;
      case 'fewgenes':
        return mito ? 0 : k < 400 ? 5 : 0;
      case 'lowcount':
        return mito ? 0 : k < 600 ? 2 : 0;
      default:
        return mito ? 30 : k < 600 ? 3 : 0;
    }
  };
  const cells = ['good', 'fewgenes', 'lowcount', 'mito'];
  return (
    ['gene,' + cells.join(','), ...genes.map((g, i) => [g, ...cells.map((c) => count(c, i))].join(','))].join(
      '\n',
    ) + '\n'
  );
}

describe('scprivacy preprocess', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cli-pre-'));
    await writeFile(join(dir, 'sample.csv'), rawCounts());
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('should apply the published filters, report each, and write <name>_treated.h5ad', async () => {
    const r = runCli(['preprocess', '-f', join(dir, 'sample.csv'), '--json']);
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({
      cellsIn: 4,
      cellsOut: 1,
      removedByGenes: 1,
      removedByCounts: 1,
      removedByMito: 1,
      mitoGenes: 10,
    });
    const out = join(dir, 'sample_treated.h5ad');
    expect(report.output).toBe(out);
    const m = await readExpression(out, { role: 'query' });
    expect(m.cellIds).toEqual(['good']);
    expect(m.genes).toHaveLength(700);
    // good: 1,805 counts; a gene with 3 counts -> ln(1 + 3 * 10000 / 1805); an MT- gene with 1 -> ln(1 + 10000/1805)
    expect(m.values[10]).toBeCloseTo(Math.log1p((3 * 10000) / 1805), 5);
    expect(m.values[0]).toBeCloseTo(Math.log1p(10000 / 1805), 5);
    expect(m.values[9]).toBe(0);
  });

  it('should take thresholds as options', () => {
    const r = runCli([
      'preprocess',
      '-f',
      join(dir, 'sample.csv'),
      '--out',
      join(dir, 'loose.h5ad'),
      '--min-genes',
      '300',
      '--min-counts',
      '1000',
      '--max-mito',
      '0.2',
      '--json',
    ]);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).cellsOut).toBe(4);
  });

  it('should refuse an out-of-range threshold naming the option, writing nothing', () => {
    const r = runCli([
      'preprocess',
      '-f',
      join(dir, 'sample.csv'),
      '--out',
      join(dir, 'bad.h5ad'),
      '--max-mito',
      '5',
    ]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/--max-mito must be a fraction between 0 and 1/);
    expect(existsSync(join(dir, 'bad.h5ad'))).toBe(false);
  });
});
