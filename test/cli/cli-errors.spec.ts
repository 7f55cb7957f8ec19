import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './run-cli';

const GOOD_REF =
  'cell_id,CD3E,LYZ,MS4A1,cell_label\na1,2,0,0,T\na2,1.5,0,0.1,T\na3,0,3,0,Mono\na4,0.2,2.5,0,Mono\n';
const GOOD_QUERY = 'cell_id,CD3E,LYZ,MS4A1\nq1,2,0,0\nq2,0,3,0\n';

/** Each case: a reference file's content (or a query's), and what the message must say. */
const cases: { name: string; ref?: string; query?: string; file?: string; expected: RegExp }[] = [
  {
    name: 'a reference without cell_label',
    ref: 'cell_id,CD3E,LYZ\na1,1,2\na2,2,1\n',
    expected: /ref\.csv.*cell_label/,
  },
  {
    name: 'a non-numeric value',
    ref: GOOD_REF.replace('a2,1.5', 'a2,high'),
    expected: /ref\.csv.*line 3.*high/,
  },
  {
    name: 'a negative value',
    ref: GOOD_REF.replace('a2,1.5', 'a2,-1.5'),
    expected: /ref\.csv.*line 3.*negative/i,
  },
  { name: 'a NaN value', ref: GOOD_REF.replace('a2,1.5', 'a2,NaN'), expected: /ref\.csv.*line 3/ },
  {
    name: 'a ragged row',
    ref: GOOD_REF.replace('a3,0,3,0,Mono', 'a3,0,3,Mono'),
    expected: /ref\.csv.*line 4/,
  },
  { name: 'an empty file', ref: '', expected: /ref\.csv.*empty/i },
  { name: 'a cell type with one cell', ref: GOOD_REF + 'a5,0,0,4,B\n', expected: /ref\.csv.*"B".*one cell/ },
  {
    name: 'a query sharing no gene',
    query: 'cell_id,ENSG1,ENSG2\nq1,1,2\n',
    expected: /query\.csv.*none of its 2 genes/,
  },
  {
    name: 'duplicate gene names',
    ref: GOOD_REF.replace('MS4A1', 'cd3e'),
    expected: /ref\.csv.*(duplicate|CD3E)/i,
  },
  { name: 'an unreadable h5ad', file: 'ref.h5ad', ref: 'this is not HDF5', expected: /ref\.h5ad/ },
];

describe('scprivacy run with bad input', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cli-errors-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const c of cases) {
    it(`should refuse ${c.name} with one clear message and exit code 2`, async () => {
      const root = join(dir, c.name.replace(/\W+/g, '-'));
      await mkdir(join(root, 'train'), { recursive: true });
      await mkdir(join(root, 'test'), { recursive: true });
      await writeFile(join(root, 'train', c.file ?? 'ref.csv'), c.ref ?? GOOD_REF);
      await writeFile(join(root, 'train', 'other.csv'), GOOD_REF);
      await writeFile(join(root, 'test', 'query.csv'), c.query ?? GOOD_QUERY);
      const r = runCli([
        'run',
        '--train',
        join(root, 'train'),
        '--test',
        join(root, 'test'),
        '--out',
        join(root, 'result.txt'),
        '--model-dir',
        join(root, 'model'),
        '--rounds',
        '2',
        '-q',
      ]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(c.expected);
      expect(r.stderr).toMatch(/^error: /);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace for a user mistake
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(existsSync(join(root, 'result.txt'))).toBe(false);
      expect(existsSync(join(root, 'model'))).toBe(false);
    });
  }

  it('should refuse a bad option value naming the option', () => {
    const r = runCli(['run', '--rounds', 'many']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/--rounds must be a whole number/);
  });

  it('should say a missing training folder does not exist', () => {
    const r = runCli(['run', '--train', join(dir, 'nope'), '--test', join(dir, 'nope2'), '-q']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/nope/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('should refuse a damaged model bundle', async () => {
    const r = runCli(['annotate', '--model', dir, '--test', join(dir, 'x.csv'), '-q']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/not a model bundle/);
  });
});

describe('scprivacy --help', () => {
  for (const command of ['run', 'annotate', 'preprocess', 'evaluate']) {
    it(`should describe every option of ${command}`, () => {
      const r = runCli([command, '--help']);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`Usage: scprivacy ${command}`));
    });
  }
});
