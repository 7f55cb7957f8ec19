import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from './input-error';
import { readRawCounts } from './read-raw-counts';
import type { SparseCounts } from './types';

const FIXTURES = join(import.meta.dirname, '../../../test/fixtures/formats');
const fixture = (name: string) => join(FIXTURES, name);

/** counts-genes-by-cells.csv and the 10x folders, as CSR cells x genes. */
const COUNTS = {
  cellIds: ['AAAC-1', 'AAAG-1', 'AAAT-1'],
  genes: ['CD3E', 'MS4A1', 'MT-CO1', 'CD3E'],
  indptr: Float64Array.from([0, 3, 4, 6]),
  indices: Int32Array.from([0, 2, 3, 2, 0, 1]),
  data: Float32Array.from([3, 7, 1, 2, 1, 5]),
};

const H5AD_CELLS = ['cell_1', 'cell_2', 'cell_3', 'cell_4', 'cell_5', 'cell_6'];
const H5AD_GENES = ['CD3E', 'MS4A1', 'LYZ', 'NKG7', 'GNLY'];
const H5AD_DENSE = [
  [0, 1.5, 0, 2.25, 0],
  [3, 0, 0, 0, 0.5],
  [0, 0, 0, 0, 0],
  [1, 2, 3, 4, 5],
  [0, 0.125, 0, 0, 7],
  [0.75, 0, 9, 0, 0],
];

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'formats-counts-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function dense(m: SparseCounts): number[][] {
  const out = m.cellIds.map(() => new Array<number>(m.genes.length).fill(0));
  for (let r = 0; r < m.cellIds.length; r++) {
    for (let k = m.indptr[r]; k < m.indptr[r + 1]; k++) out[r][m.indices[k]] = m.data[k];
  }
  return out;
}

function expectCounts(m: SparseCounts, expected: Omit<SparseCounts, 'source'>): void {
  expect(m.cellIds).toEqual(expected.cellIds);
  expect(m.genes).toEqual(expected.genes);
  expect(m.indptr).toEqual(expected.indptr);
  expect(m.indices).toEqual(expected.indices);
  expect(m.data).toEqual(expected.data);
}

async function inputError(promise: Promise<unknown>): Promise<InputError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InputError);
  return err as InputError;
}

/** A 10x folder in tmp with the given files (name -> content). */
async function tenx(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(tmp, name);
  await mkdir(dir, { recursive: true });
  for (const [file, content] of Object.entries(files)) await writeFile(join(dir, file), content);
  return dir;
}

const MTX = '%%MatrixMarket matrix coordinate integer general\n';

describe('readRawCounts', () => {
  it.each(['counts-genes-by-cells.csv', 'counts-genes-by-cells.tsv.gz'])(
    'should transpose genes x cells text (%s) into CSR cells x genes, keeping duplicate genes',
    async (name) => {
      const m = await readRawCounts(fixture(name));
      expectCounts(m, COUNTS);
      expect(m.source).toBe(fixture(name));
    },
  );

  it.each(['10x-v3', '10x-v2'])('should read the 10x folder %s', async (name) => {
    const m = await readRawCounts(fixture(name));
    expectCounts(m, COUNTS);
    expect(m.source).toBe(fixture(name));
  });

  it('should read a 10x folder given the path of its matrix', async () => {
    expectCounts(await readRawCounts(fixture('10x-v3/matrix.mtx.gz')), COUNTS);
  });

  it('should fall back to the first column of a one-column genes.tsv', async () => {
    const dir = await tenx('one-column', {
      'matrix.mtx': `${MTX}2 1 1\n2 1 4\n`,
      'barcodes.tsv': 'A-1\n',
      'genes.tsv': 'G1\nG2\n',
    });
    const m = await readRawCounts(dir);
    expect(m.genes).toEqual(['G1', 'G2']);
    expect(dense(m)).toEqual([[0, 4]]);
  });

  it('should sum repeated MatrixMarket entries and sort genes within a cell', async () => {
    const dir = await tenx('repeats', {
      'matrix.mtx': `${MTX}3 1 4\n3 1 1\n1 1 2\n3 1 5\n2 1 1\n`,
      'barcodes.tsv': 'A-1\n',
      'features.tsv': 'g1\tG1\tGene Expression\ng2\tG2\tGene Expression\ng3\tG3\tGene Expression\n',
    });
    const m = await readRawCounts(dir);
    expect(Array.from(m.indices)).toEqual([0, 1, 2]);
    expect(Array.from(m.data)).toEqual([2, 1, 6]);
    expect(Array.from(m.indptr)).toEqual([0, 3]);
  });

  it.each(['dense.h5ad', 'csr.h5ad', 'csc.h5ad'])('should read X of %s as CSR', async (name) => {
    const m = await readRawCounts(fixture(name));
    expect(m.cellIds).toEqual(H5AD_CELLS);
    expect(m.genes).toEqual(H5AD_GENES);
    expect(dense(m)).toEqual(H5AD_DENSE);
    expect(m.indptr).toEqual(Float64Array.from([0, 2, 4, 4, 9, 11, 13]));
  });

  it('should read integer counts from a dense h5ad', async () => {
    const m = await readRawCounts(fixture('counts-int.h5ad'));
    expect(dense(m)).toEqual([
      [0, 6, 0, 9, 0],
      [12, 0, 0, 0, 2],
      [0, 0, 0, 0, 0],
      [4, 8, 12, 16, 20],
      [0, 0, 0, 0, 28],
      [3, 0, 36, 0, 0],
    ]);
  });

  it('should reject negative counts in an h5ad', async () => {
    const path = fixture('negative-value.h5ad');
    expect((await inputError(readRawCounts(path))).message).toContain(
      'gene "MS4A1" (column 2) is negative (-1)',
    );
  });

  describe('errors', () => {
    it('should name the 10x files that are missing', async () => {
      const dir = await tenx('incomplete', { 'matrix.mtx.gz': '' });
      expect((await inputError(readRawCounts(dir))).message).toBe(
        `${dir}: a 10x folder needs matrix.mtx[.gz], barcodes.tsv[.gz] and features.tsv[.gz] (or genes.tsv[.gz]); ` +
          'missing: barcodes.tsv[.gz], features.tsv[.gz] (or genes.tsv[.gz])',
      );
    });

    it('should reject a MatrixMarket entry out of range, naming the line', async () => {
      const dir = await tenx('out-of-range', {
        'matrix.mtx': `${MTX}% comment\n2 2 2\n1 1 1\n3 2 1\n`,
        'barcodes.tsv': 'A-1\nB-1\n',
        'genes.tsv': 'g1\tG1\ng2\tG2\n',
      });
      const err = await inputError(readRawCounts(dir));
      expect(err.message).toBe(`${join(dir, 'matrix.mtx')}, line 5: row index 3 is out of range 1..2`);
      expect(err.line).toBe(5);
    });

    it('should reject a matrix whose size disagrees with the barcodes or features', async () => {
      const genes = await tenx('gene-count', {
        'matrix.mtx': `${MTX}3 2 1\n1 1 1\n`,
        'barcodes.tsv': 'A-1\nB-1\n',
        'genes.tsv': 'g1\tG1\ng2\tG2\n',
      });
      expect((await inputError(readRawCounts(genes))).message).toBe(
        `${join(genes, 'matrix.mtx')}: the matrix has 3 rows (genes) but ${join(genes, 'genes.tsv')} lists 2 genes`,
      );
      const cells = await tenx('cell-count', {
        'matrix.mtx': `${MTX}2 3 1\n1 1 1\n`,
        'barcodes.tsv': 'A-1\nB-1\n',
        'genes.tsv': 'g1\tG1\ng2\tG2\n',
      });
      expect((await inputError(readRawCounts(cells))).message).toContain(
        'the matrix has 3 columns (cells) but',
      );
    });

    it('should reject a wrong entry count, a bad banner and a bad value', async () => {
      const files = { 'barcodes.tsv': 'A-1\n', 'genes.tsv': 'g1\tG1\n' };
      const count = await tenx('count', { ...files, 'matrix.mtx': `${MTX}1 1 2\n1 1 1\n` });
      expect((await inputError(readRawCounts(count))).message).toContain(
        'the size line announces 2 entries but the file has 1',
      );
      const banner = await tenx('banner', {
        ...files,
        'matrix.mtx': '%%MatrixMarket matrix array real general\n1 1\n1\n',
      });
      expect((await inputError(readRawCounts(banner))).message).toContain(
        'line 1: "%%MatrixMarket matrix array real general": only sparse (coordinate) matrices are supported',
      );
      const value = await tenx('value', { ...files, 'matrix.mtx': `${MTX}1 1 1\n1 1 -3\n` });
      expect((await inputError(readRawCounts(value))).message).toContain('line 3: value -3 is negative');
    });

    it('should reject an empty genes x cells file, a header alone and a ragged line', async () => {
      const empty = join(tmp, 'empty.csv');
      await writeFile(empty, '');
      expect((await inputError(readRawCounts(empty))).message).toMatch(
        /the file is empty; expected a header line "gene,<cell 1>,..."/,
      );
      const header = join(tmp, 'header.csv');
      await writeFile(header, 'gene,A,B\n');
      expect((await inputError(readRawCounts(header))).message).toBe(
        `${header}, line 2: the file has a header but no genes; expected one line per gene after the header`,
      );
      const ragged = join(tmp, 'ragged.tsv');
      await writeFile(ragged, 'gene\tA\tB\nG1\t1\t2\nG2\t1\n');
      expect((await inputError(readRawCounts(ragged))).message).toContain(
        `${ragged}, line 3: line 3 has 2 fields, the header has 3`,
      );
    });

    it('should reject a missing path and an unsupported file', async () => {
      const missing = join(tmp, 'missing');
      expect((await inputError(readRawCounts(missing))).message).toBe(`${missing}: no such file`);
      const other = join(tmp, 'counts.loom');
      await cp(fixture('dense.h5ad'), other);
      expect((await inputError(readRawCounts(other))).message).toMatch(
        /unsupported file type; expected a 10x folder or one of/,
      );
    });
  });
});
