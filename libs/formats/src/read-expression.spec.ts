import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from './input-error';
import { readExpression } from './read-expression';
import type { DatasetRole, ExpressionMatrix } from './types';

const FIXTURES = join(import.meta.dirname, '../../../test/fixtures/formats');
const fixture = (name: string) => join(FIXTURES, name);

/** reference.csv and its variants. */
const REFERENCE = {
  cellIds: ['c1', 'c2', 'c3', 'c4'],
  genes: ['CD3E', 'MS4A1', 'LYZ'],
  values: Float32Array.from([1.5, 0, 0.25, 0, 2, 0, 0.125, 0, 0.3, 0, 0, 4]),
  labels: ['T cell', 'B cell', 'T cell', 'Monocyte'],
};

/** The matrix every .h5ad fixture holds (see make-h5ad-fixtures.py). */
const H5AD = {
  cellIds: ['cell_1', 'cell_2', 'cell_3', 'cell_4', 'cell_5', 'cell_6'],
  genes: ['CD3E', 'MS4A1', 'LYZ', 'NKG7', 'GNLY'],
  values: Float32Array.from([
    0, 1.5, 0, 2.25, 0, 3, 0, 0, 0, 0.5, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 0, 0.125, 0, 0, 7, 0.75, 0, 9, 0, 0,
  ]),
  labels: ['T cell', 'B cell', 'T cell', 'NK cell', 'B cell', 'Monocyte'],
};

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'formats-read-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Writes `content` to a temporary file named `name` and returns its path. */
async function temp(name: string, content: string | Buffer): Promise<string> {
  const path = join(tmp, name);
  await writeFile(path, content);
  return path;
}

async function inputError(promise: Promise<unknown>): Promise<InputError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InputError);
  return err as InputError;
}

function expectMatrix(m: ExpressionMatrix, expected: Omit<ExpressionMatrix, 'source'>): void {
  expect(m.cellIds).toEqual(expected.cellIds);
  expect(m.genes).toEqual(expected.genes);
  expect(m.values).toEqual(expected.values);
  expect(m.labels).toEqual(expected.labels);
}

const reference = { role: 'reference' as DatasetRole };
const query = { role: 'query' as DatasetRole };

describe('readExpression', () => {
  describe('text', () => {
    it.each([
      'reference.csv',
      'reference.tsv',
      'reference.txt',
      'reference.csv.gz',
      'reference.tsv.gz',
      'reference.txt.gz',
      'crlf.csv',
      'bom-no-final-newline.csv',
    ])('should read %s', async (name) => {
      const m = await readExpression(fixture(name), reference);
      expectMatrix(m, REFERENCE);
      expect(m.source).toBe(fixture(name));
    });

    it('should read a query without labels', async () => {
      const m = await readExpression(fixture('query.csv'), query);
      expectMatrix(m, {
        cellIds: ['q1', 'q2', 'q3'],
        genes: ['CD3E', 'MS4A1', 'LYZ'],
        values: Float32Array.from([1, 0, 2, 0, 0.5, 0, 3, 0, 0]),
        labels: undefined,
      });
      expect('labels' in m).toBe(false);
    });

    it('should read cell_label of a query when present', async () => {
      expect((await readExpression(fixture('reference.csv'), query)).labels).toEqual(REFERENCE.labels);
    });

    it('should find cell_label anywhere and accept an empty first header cell', async () => {
      const m = await readExpression(fixture('label-middle.csv'), reference);
      expectMatrix(m, {
        cellIds: ['c1', 'c2'],
        genes: ['CD3E', 'MS4A1'],
        values: Float32Array.from([1, 0, 0, 2]),
        labels: ['T cell', 'B cell'],
      });
    });

    it('should read RFC 4180 quoted ids, labels and numbers', async () => {
      const text = (await readFile(fixture('quoted.csv'), 'utf8')).replace('"c3\nwrapped"', '"c3 wrapped"');
      const m = await readExpression(await temp('quoted-one-line.csv', text), reference);
      expectMatrix(m, {
        ...REFERENCE,
        cellIds: ['c,1', 'c"2"', 'c3 wrapped'],
        values: REFERENCE.values.slice(0, 9),
        labels: ['T cell, CD4+', 'B "naive"', 'T cell'],
      });
    });

    it('should refuse a quoted id holding a line break, naming the file and line', async () => {
      const err = await inputError(readExpression(fixture('quoted.csv'), reference));
      expect(err.message).toBe(
        `${fixture('quoted.csv')}, line 4: cell id "c3\\nwrapped" contains a control character (U+000A, position 3); ` +
          'cell ids and labels must be printable text without tabs or line breaks',
      );
      expect(err.line).toBe(4);
    });

    it('should read a cut of a real data set', async () => {
      const m = await readExpression(fixture('pbmc3k-cut.csv'), reference);
      expect(m.cellIds).toHaveLength(5);
      expect(m.genes).toEqual(['HES4', 'AGRN', 'B3GALT6', 'MXRA8', 'AURKAIP1', 'ATAD3C', 'ATAD3B', 'MMP23B']);
      expect(m.values[1 * 8 + 4]).toBe(Math.fround(1.1117));
      expect(m.labels).toEqual(['T/NK cells', 'B cells', 'T/NK cells', 'Monocytes', 'T/NK cells']);
    });

    it('should keep duplicate cell ids', async () => {
      const path = await temp('dup-cells.csv', 'cell_id,G1\nx,1\nx,2\n');
      expect((await readExpression(path, query)).cellIds).toEqual(['x', 'x']);
    });

    it('should read a file of several MB whose lines cross chunk boundaries', async () => {
      const cells = 300;
      const genes = 2000;
      const value = (c: number, g: number) => ((c * 7 + g * 13) % 17 === 0 ? ((c + g) % 1000) / 64 : 0);
      const lines = [`cell_id,${Array.from({ length: genes }, (_, g) => `G${g}`).join(',')},cell_label`];
      for (let c = 0; c < cells; c++) {
        lines.push(`cell${c},${Array.from({ length: genes }, (_, g) => value(c, g)).join(',')},type${c % 3}`);
      }
      const text = lines.join('\n') + '\n';
      const plain = await temp('big.csv', text);
      const gz = await temp('big.csv.gz', gzipSync(text));
      for (const path of [plain, gz]) {
        const m = await readExpression(path, reference);
        expect(m.values).toHaveLength(cells * genes);
        for (const [c, g] of [
          [0, 0],
          [17, 0],
          [299, 1999],
          [150, 1234],
        ]) {
          expect(m.values[c * genes + g]).toBe(Math.fround(value(c, g)));
        }
        expect(m.labels?.[299]).toBe('type2');
      }
    });

    it('should report progress up to the file size (compressed size for .gz)', async () => {
      for (const name of ['reference.csv', 'reference.csv.gz']) {
        const calls: [number, number][] = [];
        await readExpression(fixture(name), { role: 'reference', onProgress: (d, t) => calls.push([d, t]) });
        const size = (await stat(fixture(name))).size;
        expect(calls[0]).toEqual([0, size]);
        expect(calls[calls.length - 1]).toEqual([size, size]);
      }
    });
  });

  describe('text errors', () => {
    it('should reject an empty file', async () => {
      const path = await temp('empty.csv', '');
      const err = await inputError(readExpression(path, reference));
      expect(err.message).toMatch(
        /^.*empty\.csv: the file is empty; expected a header line "cell_id,<gene 1>,...,cell_label"/,
      );
      expect(err.file).toBe(path);
    });

    it('should reject a header without cells', async () => {
      const path = await temp('header-only.csv', 'cell_id,G1,cell_label\n');
      const err = await inputError(readExpression(path, reference));
      expect(err.message).toBe(
        `${path}, line 2: the file has a header but no cells; expected one line per cell after the header`,
      );
    });

    it('should require cell_label in a reference', async () => {
      const err = await inputError(readExpression(fixture('query.csv'), reference));
      expect(err.message).toBe(
        `${fixture('query.csv')}, line 1: no "cell_label" column in the header; ` +
          'reference files need a `cell_label` column (the cell type of each cell)',
      );
      expect(err.line).toBe(1);
    });

    it('should reject a ragged row', async () => {
      const path = await temp('ragged.csv', 'cell_id,G1,G2,cell_label\nx,1,2,T\ny,1,T\n');
      const err = await inputError(readExpression(path, reference));
      expect(err.message).toMatch(
        new RegExp(`^${escape(path)}, line 3: line 3 has 3 fields, the header has 4`),
      );
      expect(err.line).toBe(3);
    });

    it.each([
      ['non-numeric', 'x,1,abc,T', '"abc" is not a number'],
      ['NaN', 'x,1,NaN,T', '"NaN" is not allowed; values must be finite numbers'],
      ['Infinity', 'x,1,Inf,T', '"Inf" is not allowed'],
      ['negative', 'x,1,-2.5,T', '-2.5 is negative; values must be >= 0'],
      ['empty', 'x,1,,T', 'empty value; expected a number'],
    ])('should reject a %s value naming the line, gene and text', async (what, row, problem) => {
      const path = await temp(`bad-${what}.csv`, `cell_id,G1,CD3E,cell_label\ny,0,0,T\n${row}\n`);
      const err = await inputError(readExpression(path, reference));
      expect(err.message).toContain(`${path}, line 3, column "CD3E": ${problem}`);
      expect(err.line).toBe(3);
    });

    it('should reject duplicate gene names, also when they differ only in case', async () => {
      const same = await temp('dup-genes.csv', 'cell_id,CD3E,G2,CD3E\nx,1,2,3\n');
      expect((await inputError(readExpression(same, query))).message).toBe(
        `${same}, line 1: gene "CD3E" appears twice (column 2 and column 4); gene names are matched ` +
          'case-insensitively, so each must be unique (sum or drop the duplicates first)',
      );
      const cased = await temp('case-genes.tsv', 'cell_id\tCD3E\tcd3e\tcell_label\nx\t1\t2\tT\n');
      expect((await inputError(readExpression(cased, reference))).message).toContain(
        `${cased}, line 1: genes "CD3E" (column 2) and "cd3e" (column 3) differ only in case`,
      );
    });

    it('should reject an empty cell_label in a reference but not in a query', async () => {
      const path = await temp('empty-label.csv', 'cell_id,G1,cell_label\nx,1,T\ny,2,\n');
      expect((await inputError(readExpression(path, reference))).message).toBe(
        `${path}, line 3: cell "y" has an empty cell_label; reference files need the cell type of every cell`,
      );
      expect((await readExpression(path, query)).labels).toEqual(['T', '']);
    });

    it('should reject two cell_label columns and a header without genes', async () => {
      const two = await temp('two-labels.csv', 'cell_id,cell_label,G1,cell_label\nx,T,1,T\n');
      expect((await inputError(readExpression(two, reference))).message).toContain(
        'line 1: the header has 2 "cell_label" columns (columns 2, 4); expected one',
      );
      const none = await temp('no-genes.csv', 'cell_id,cell_label\nx,T\n');
      expect((await inputError(readExpression(none, reference))).message).toContain(
        'line 1: the header names no genes',
      );
    });

    it('should hint at the delimiter when the header has one column', async () => {
      const path = await temp('tabs.csv', 'cell_id\tG1\nx\t1\n');
      expect((await inputError(readExpression(path, query))).message).toContain(
        'line 1: the header has a single column; expected "cell_id,<gene 1>,..." (is the file tab-separated?',
      );
    });

    it('should explain a missing file, a folder, an unknown extension and wrong compression', async () => {
      const missing = join(tmp, 'nope.csv');
      expect((await inputError(readExpression(missing, query))).message).toBe(`${missing}: no such file`);
      expect((await inputError(readExpression(tmp, query))).message).toMatch(
        /is a folder; expected a cells x genes data file/,
      );
      const xlsx = await temp('data.xlsx', 'x');
      expect((await inputError(readExpression(xlsx, query))).message).toBe(
        `${xlsx}: unsupported file type; expected one of .csv, .csv.gz, .tsv, .tsv.gz, .txt, .txt.gz, .h5ad`,
      );
      const hiddenGzip = await temp('packed.csv', gzipSync('cell_id,G1\nx,1\n'));
      expect((await inputError(readExpression(hiddenGzip, query))).message).toMatch(
        /gzip-compressed but its name does not end in \.gz/,
      );
      const notGzip = await temp('plain.csv.gz', 'cell_id,G1\nx,1\n');
      expect((await inputError(readExpression(notGzip, query))).message).toMatch(
        /plain\.csv\.gz: not a valid gzip file/,
      );
    });
  });

  describe('h5ad', () => {
    it.each(['dense.h5ad', 'csr.h5ad', 'csc.h5ad', 'string-label.h5ad', 'old-categories.h5ad'])(
      'should read %s',
      async (name) => {
        const m = await readExpression(fixture(name), reference);
        expectMatrix(m, H5AD);
        expect(m.source).toBe(fixture(name));
      },
    );

    it('should read a query without cell_label and refuse it as a reference', async () => {
      const path = fixture('query-no-label.h5ad');
      expectMatrix(await readExpression(path, query), { ...H5AD, labels: undefined });
      expect((await inputError(readExpression(path, reference))).message).toBe(
        `${path}: no obs column "cell_label"; reference files need a \`cell_label\` column (the cell type of each cell)`,
      );
    });

    it('should reject a missing categorical label in a reference but not in a query', async () => {
      const path = fixture('missing-label.h5ad');
      expect((await inputError(readExpression(path, reference))).message).toBe(
        `${path}: cell "cell_3" (row 3) has no cell_label; reference files need the cell type of every cell`,
      );
      expect((await readExpression(path, query)).labels?.[2]).toBe('');
    });

    it('should reject NaN and negative values, naming the cell and gene', async () => {
      const nan = fixture('nan-value.h5ad');
      expect((await inputError(readExpression(nan, reference))).message).toBe(
        `${nan}: X at cell "cell_4" (row 4), gene "LYZ" (column 3) is NaN; values must be finite numbers >= 0`,
      );
      const negative = fixture('negative-value.h5ad');
      expect((await inputError(readExpression(negative, reference))).message).toBe(
        `${negative}: X at cell "cell_5" (row 5), gene "MS4A1" (column 2) is negative (-1); values must be finite numbers >= 0`,
      );
    });

    it('should reject a file without X and a file that is not HDF5', async () => {
      const noX = fixture('no-x.h5ad');
      expect((await inputError(readExpression(noX, query))).message).toBe(
        `${noX}: no "X" in the file; expected the expression matrix X (cells x genes)`,
      );
      const text = await temp('text.h5ad', 'cell_id,G1\nx,1\n');
      expect((await inputError(readExpression(text, query))).message).toBe(
        `${text}: not an HDF5 file, so not a readable .h5ad (AnnData) file`,
      );
      const missing = join(tmp, 'missing.h5ad');
      expect((await inputError(readExpression(missing, query))).message).toBe(`${missing}: no such file`);
    });

    it('should report progress', async () => {
      const calls: number[][] = [];
      await readExpression(fixture('csr.h5ad'), { role: 'query', onProgress: (d, t) => calls.push([d, t]) });
      expect(calls[calls.length - 1]).toEqual([1, 1]);
    });
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
