import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '@fl/formats';
import { parseLabelTable, readLabelTable } from './label-table';

describe(readLabelTable.name, () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'label-table-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('should read cell ids and trimmed labels in file order, ignoring trailing empty lines', async () => {
    const path = join(dir, 'result.txt');
    await writeFile(path, 'c2\tT cell \r\nc1\tB cell\n\n');
    expect(await readLabelTable(path, 'predictions')).toEqual({
      source: path,
      ids: ['c2', 'c1'],
      labels: ['T cell', 'B cell'],
    });
  });

  it('should name the file when it cannot be read', async () => {
    const path = join(dir, 'missing.tsv');
    await expect(readLabelTable(path, 'truth')).rejects.toThrow(InputError);
    await expect(readLabelTable(path, 'truth')).rejects.toThrow(
      /missing\.tsv: cannot read the truth file: file not found/,
    );
  });
});

describe(parseLabelTable.name, () => {
  const parse = (text: string) => parseLabelTable(text, 'truth.tsv', 'truth');

  it('should skip a first line starting with cell_id', () => {
    expect(parse('cell_id\tlabel\nc1\tB\n').ids).toEqual(['c1']);
  });

  it('should refuse an empty file', () => {
    expect(() => parse('')).toThrow(/truth\.tsv: the truth file is empty/);
    expect(() => parse('\n\n')).toThrow(/empty/);
    expect(() => parse('cell_id\tlabel\n')).toThrow(/has a header but no cells/);
  });

  it('should refuse a wrong column count, naming file and line', () => {
    const err = (() => {
      try {
        parse('c1\tB\nc2\tT\textra\n');
      } catch (e) {
        return e as InputError;
      }
    })();
    expect(err).toBeInstanceOf(InputError);
    expect(err?.message).toBe('truth.tsv:2: expected 2 tab-separated columns (cell_id, label), found 3');
    expect(err).toMatchObject({ file: 'truth.tsv', line: 2 });
  });

  it('should hint at the separator when a line has one column with commas or spaces', () => {
    expect(() => parse('c1,B\n')).toThrow(/truth\.tsv:1: .*found 1 \(the separator must be a tab\)/);
  });

  it('should refuse a duplicate cell id, naming both lines', () => {
    expect(() => parse('c1\tB\nc2\tT\nc1\tT\n')).toThrow(
      /truth\.tsv:3: duplicate cell id "c1" \(first on line 1\)/,
    );
  });

  it('should refuse an empty line in the middle, an empty id or an empty label', () => {
    expect(() => parse('c1\tB\n\nc2\tT\n')).toThrow(/truth\.tsv:2: expected 2/);
    expect(() => parse('\tB\n')).toThrow(/truth\.tsv:1: empty cell id/);
    expect(() => parse('c1\t \n')).toThrow(/truth\.tsv:1: empty label for cell "c1"/);
  });
});
