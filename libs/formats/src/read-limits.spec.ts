import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readExpression, summarizeExpression } from './read-expression';
import { DEFAULT_READ_LIMITS, InputLimitError, type ReadLimits } from './read-limits';
import { readRawCounts } from './read-raw-counts';
import { InputError } from './input-error';

const FIXTURES = join(import.meta.dirname, '../../../test/fixtures/formats');
const fixture = (name: string) => join(FIXTURES, name);
const MiB = 1 << 20;

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'formats-limits-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function temp(name: string, content: string | Buffer): Promise<string> {
  const path = join(tmp, name);
  await writeFile(path, content);
  return path;
}

/**
 * A gzip bomb built without ever holding the inflated text: `head`, then `block`
 * repeated `times`, each compressed once and written as its own gzip member (gunzip
 * reads concatenated members as one stream). 1 GiB of zeros is ~1 MB on disk.
 */
async function gzipBomb(name: string, head: string, block: Buffer, times: number): Promise<string> {
  const path = join(tmp, name);
  const out = createWriteStream(path);
  const member = gzipSync(block, { level: 9 });
  out.write(gzipSync(head));
  for (let i = 0; i < times; i++) {
    if (!out.write(member)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  out.end();
  await finished(out);
  return path;
}

async function limitErrorOf(promise: Promise<unknown>): Promise<InputLimitError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InputLimitError);
  expect(err).toBeInstanceOf(InputError);
  return err as InputLimitError;
}

const reference = (limits: Partial<ReadLimits> = {}) => ({ role: 'reference' as const, limits });

describe('read limits', () => {
  it('should have defaults that fit one file at a time on a 24 GB server', () => {
    expect(DEFAULT_READ_LIMITS).toEqual({
      maxDecompressedBytes: 8 * 1024 ** 3,
      maxCells: 2_000_000,
      maxGenes: 100_000,
      maxValues: 1_000_000_000,
      maxLineBytes: 16 * MiB,
      maxFieldBytes: 64 * 1024,
    });
    // The dense matrix at the value cap, read into blocks then one array, stays under 10 GB.
    expect(DEFAULT_READ_LIMITS.maxValues * 4 * 2).toBeLessThan(10e9);
  });

  describe('gzip bombs', () => {
    it('should refuse 1 GiB of zeros (a 1 MB .gz) at the field cap, after the first chunk', async () => {
      const bomb = await gzipBomb('zeros.csv.gz', '', Buffer.alloc(MiB, 0x30), 1024);
      const rssBefore = process.memoryUsage().rss;
      for (const read of [readExpression, summarizeExpression]) {
        const err = await limitErrorOf(read(bomb, reference()));
        expect(err.limit).toBe('maxFieldBytes');
        expect(err.message).toBe(
          `${bomb}, line 1, column 1: a field exceeds the limit of 64 KiB (maxFieldBytes); ` +
            'if the file is genuine, raise the read limit "maxFieldBytes"',
        );
      }
      expect(process.memoryUsage().rss - rssBefore).toBeLessThan(256 * MiB);
    });

    it('should stop inflating at maxDecompressedBytes', async () => {
      const rows = Buffer.from('c,0.5,T\n'.repeat(MiB / 8));
      const bomb = await gzipBomb('rows.csv.gz', 'cell_id,G1,cell_label\n', rows, 1024);
      const limits = { maxDecompressedBytes: 16 * MiB, maxCells: 1e9 };
      const err = await limitErrorOf(summarizeExpression(bomb, reference(limits)));
      expect(err.limit).toBe('maxDecompressedBytes');
      expect(err.message).toBe(
        `${bomb}: the text decompressed from the file exceeds the limit of 16 MiB (maxDecompressedBytes); ` +
          'if the file is genuine, raise the read limit "maxDecompressedBytes"',
      );
      // With the default limits the same bomb stops at the cell cap, 2,000,000 lines in.
      const cells = await limitErrorOf(summarizeExpression(bomb, reference()));
      expect(cells.limit).toBe('maxCells');
      expect(cells.message).toMatch(
        /rows\.csv\.gz, line 2000002: the number of cells exceeds the limit of 2,000,000 cells/,
      );
    }, 60_000);
  });

  describe('text files', () => {
    const header = (genes: number) =>
      `cell_id,${Array.from({ length: genes }, (_, i) => `G${i}`).join(',')},cell_label\n`;
    const row = (id: string, genes: number) => `${id},${new Array(genes).fill('1').join(',')},T\n`;

    it('should refuse a plain file bigger than maxDecompressedBytes', async () => {
      const path = await temp('big.csv', header(2) + row('a', 2).repeat(200));
      const err = await limitErrorOf(readExpression(path, reference({ maxDecompressedBytes: 1024 })));
      expect(err.limit).toBe('maxDecompressedBytes');
      expect(err.message).toMatch(/big\.csv: the file exceeds the limit of 1 KiB \(maxDecompressedBytes\)/);
    });

    it('should refuse more cells than maxCells, naming the line', async () => {
      const path = await temp('cells.csv', header(2) + row('a', 2) + row('b', 2) + row('c', 2));
      expect((await readExpression(path, reference({ maxCells: 3 }))).cellIds).toHaveLength(3);
      const err = await limitErrorOf(readExpression(path, reference({ maxCells: 2 })));
      expect(err).toMatchObject({ limit: 'maxCells', line: 4 });
      expect(err.message).toBe(
        `${path}, line 4: the number of cells exceeds the limit of 2 cells (maxCells); ` +
          'if the file is genuine, raise the read limit "maxCells"',
      );
    });

    it('should refuse more genes than maxGenes, in the header', async () => {
      const path = await temp('genes.csv', header(5) + row('a', 5));
      expect((await readExpression(path, reference({ maxGenes: 5 }))).genes).toHaveLength(5);
      const err = await limitErrorOf(readExpression(path, reference({ maxGenes: 4 })));
      expect(err).toMatchObject({ limit: 'maxGenes', line: 1 });
      expect(err.message).toMatch(
        /genes\.csv, line 1: the number of genes exceeds the limit of 4 genes \(maxGenes\)/,
      );
      const query = await temp('genes-query.csv', 'cell_id,A,B,C,D,E\nq,1,2,3,4,5\n');
      expect(
        (await limitErrorOf(readExpression(query, { role: 'query', limits: { maxGenes: 4 } }))).message,
      ).toMatch(
        /genes-query\.csv, line 1: the number of genes \(5\) exceeds the limit of 4 genes \(maxGenes\)/,
      );
      // A header far wider than the cap fails while it is read.
      const wide = await temp('wide.csv', header(5000) + row('a', 5000));
      expect((await limitErrorOf(readExpression(wide, reference({ maxGenes: 10 })))).message).toMatch(
        /wide\.csv, line 1: the number of genes exceeds the limit of 10 genes \(maxGenes\)/,
      );
    });

    it('should refuse more cells x genes than maxValues', async () => {
      const path = await temp('values.csv', header(3) + row('a', 3) + row('b', 3));
      const err = await limitErrorOf(readExpression(path, reference({ maxValues: 5 })));
      expect(err).toMatchObject({ limit: 'maxValues', line: 3 });
      expect(err.message).toMatch(
        /values\.csv, line 3: the number of values \(2 cells x 3 genes so far\) exceeds the limit of 5 values/,
      );
    });

    it('should refuse a line longer than maxLineBytes and a field longer than maxFieldBytes', async () => {
      const path = await temp('long.csv', header(50) + row('a', 50));
      const line = await limitErrorOf(readExpression(path, reference({ maxLineBytes: 100 })));
      expect(line).toMatchObject({ limit: 'maxLineBytes', line: 1 });
      expect(line.message).toMatch(
        /long\.csv, line 1: the line exceeds the limit of 100 bytes \(maxLineBytes\)/,
      );
      const id = await temp('long-id.csv', header(1) + row('x'.repeat(300), 1));
      const field = await limitErrorOf(readExpression(id, reference({ maxFieldBytes: 200 })));
      expect(field.message).toMatch(
        /long-id\.csv, line 2, column "cell_id": a field exceeds the limit of 200 bytes/,
      );
    });

    it('should name the setting a caller gives for raising a limit', async () => {
      const path = await temp('named.csv', header(2) + row('a', 2) + row('b', 2));
      const err = await limitErrorOf(
        readExpression(path, {
          ...reference({ maxCells: 1 }),
          limitSettings: { maxCells: 'READ_MAX_CELLS' },
        }),
      );
      expect(err.message).toMatch(/; if the file is genuine, raise READ_MAX_CELLS$/);
    });
  });

  describe('h5ad and 10x', () => {
    it.each([
      ['maxCells', { maxCells: 5 }, "X's 6 cells exceeds the limit of 5 cells (maxCells)"],
      ['maxGenes', { maxGenes: 4 }, "X's 5 genes exceeds the limit of 4 genes (maxGenes)"],
      ['maxValues', { maxValues: 29 }, 'X (6 cells x 5 genes) exceeds the limit of 29 values (maxValues)'],
    ] as const)('should check an .h5ad shape against %s before reading it', async (limit, limits, text) => {
      for (const read of [readExpression, summarizeExpression]) {
        const err = await limitErrorOf(read(fixture('csr.h5ad'), reference(limits)));
        expect(err.limit).toBe(limit);
        expect(err.message).toContain(`${fixture('csr.h5ad')}: ${text}`);
      }
    });

    it('should check a MatrixMarket size line before allocating its entries', async () => {
      const mtx = fixture('10x-v3/matrix.mtx.gz');
      const cells = await limitErrorOf(readRawCounts(fixture('10x-v3'), { limits: { maxCells: 2 } }));
      expect(cells.limit).toBe('maxCells');
      const genes = await limitErrorOf(readRawCounts(fixture('10x-v3'), { limits: { maxGenes: 3 } }));
      expect(genes.limit).toBe('maxGenes');
      const values = await limitErrorOf(readRawCounts(fixture('10x-v3'), { limits: { maxValues: 5 } }));
      expect(values).toMatchObject({ limit: 'maxValues', line: 3 });
      expect(values.message).toMatch(
        new RegExp(
          `^${mtx.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, line 3: 6 entries exceeds the limit of 5 values`,
        ),
      );
      // A size line announcing two billion entries is refused before anything is allocated.
      const dir = join(tmp, 'huge-10x');
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'barcodes.tsv'), 'A\n');
      await writeFile(join(dir, 'features.tsv'), 'g\tG\n');
      await writeFile(
        join(dir, 'matrix.mtx'),
        '%%MatrixMarket matrix coordinate integer general\n1 1 2000000000\n',
      );
      expect((await limitErrorOf(readRawCounts(dir))).limit).toBe('maxValues');
    });

    it('should cap a MatrixMarket line and the cells of genes x cells text', async () => {
      const dir = join(tmp, 'long-line-10x');
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'barcodes.tsv'), 'A\n');
      await writeFile(join(dir, 'features.tsv'), 'g\tG\n');
      await writeFile(
        join(dir, 'matrix.mtx'),
        `%%MatrixMarket matrix coordinate integer general\n1 1 1\n1 1 ${'1'.repeat(5000)}\n`,
      );
      expect(await limitErrorOf(readRawCounts(dir, { limits: { maxLineBytes: 1000 } }))).toMatchObject({
        limit: 'maxLineBytes',
        line: 3,
      });
      const counts = fixture('counts-genes-by-cells.csv');
      expect((await limitErrorOf(readRawCounts(counts, { limits: { maxCells: 2 } }))).limit).toBe('maxCells');
      expect((await limitErrorOf(readRawCounts(counts, { limits: { maxGenes: 3 } }))).limit).toBe('maxGenes');
    });
  });
});
