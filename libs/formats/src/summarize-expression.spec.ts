import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from './input-error';
import { readExpression, summarizeExpression } from './read-expression';
import type { DatasetRole } from './types';
import { writeH5ad } from './write-h5ad';

const FIXTURES = join(import.meta.dirname, '../../../test/fixtures/formats');
const fixture = (name: string) => join(FIXTURES, name);

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'formats-summary-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function temp(name: string, content: string): Promise<string> {
  const path = join(tmp, name);
  await writeFile(path, content);
  return path;
}

async function errorOf(promise: Promise<unknown>): Promise<InputError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InputError);
  return err as InputError;
}

function countLabels(labels: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const l of labels) counts[l] = (counts[l] ?? 0) + 1;
  return counts;
}

describe('summarizeExpression', () => {
  it.each([
    ['reference.csv', 'reference'],
    ['reference.tsv.gz', 'reference'],
    ['reference.txt', 'reference'],
    ['crlf.csv', 'reference'],
    ['bom-no-final-newline.csv', 'reference'],
    ['label-middle.csv', 'reference'],
    ['pbmc3k-cut.csv', 'reference'],
    ['query.csv', 'query'],
    ['dense.h5ad', 'reference'],
    ['csr.h5ad', 'reference'],
    ['csc.h5ad', 'reference'],
    ['string-label.h5ad', 'reference'],
    ['old-categories.h5ad', 'reference'],
    ['query-no-label.h5ad', 'query'],
  ] as const)('should agree with readExpression on %s', async (name, role: DatasetRole) => {
    const m = await readExpression(fixture(name), { role });
    const s = await summarizeExpression(fixture(name), { role });
    expect(s.source).toBe(fixture(name));
    expect(s.cells).toBe(m.cellIds.length);
    expect(s.genes).toEqual(m.genes);
    expect(s.typeCounts).toEqual(m.labels ? countLabels(m.labels) : undefined);
  });

  it('should refuse what readExpression refuses, with the same message', async () => {
    const bad = [
      await temp('ragged.csv', 'cell_id,A,B,cell_label\nc1,1,2,T\nc2,1,T\n'),
      await temp('nan.csv', 'cell_id,A,cell_label\nc1,NaN,T\n'),
      await temp('no-label.csv', 'cell_id,A\nc1,1\n'),
      await temp('empty-label.csv', 'cell_id,A,cell_label\nc1,1, \n'),
      await temp('dup-genes.csv', 'cell_id,A,a,cell_label\nc1,1,2,T\n'),
      await temp('empty.csv', ''),
      fixture('nan-value.h5ad'),
      fixture('missing-label.h5ad'),
      fixture('quoted.csv'),
    ];
    for (const path of bad) {
      const read = await errorOf(readExpression(path, { role: 'reference' }));
      const summary = await errorOf(summarizeExpression(path, { role: 'reference' }));
      expect(summary.message, path).toBe(read.message);
    }
  });

  it('should count a type named like an Object property as any other', async () => {
    const path = await temp(
      'proto.csv',
      'cell_id,A,cell_label\nc1,1,__proto__\nc2,1,__proto__\nc3,1,constructor\n',
    );
    const s = await summarizeExpression(path, { role: 'reference' });
    expect(Object.entries(s.typeCounts!)).toEqual([
      ['__proto__', 2],
      ['constructor', 1],
    ]);
  });
});

describe('control characters in cell ids and labels', () => {
  it.each([
    ['a TAB inside a quoted id', 'cell_id,A,cell_label\nc1,1,T\n"c\t2",1,T\n', 3, 'cell id "c\\t2"', '0009'],
    ['a CR inside a quoted id', 'cell_id,A,cell_label\n"c\r1",1,T\n', 2, 'cell id "c\\r1"', '000D'],
    [
      'a line break inside a quoted label',
      'cell_id,A,cell_label\nc1,1,"T\ncell"\n',
      2,
      'cell_label "T\\ncell"',
      '000A',
    ],
    [
      'an escape character in an id',
      'cell_id,A,cell_label\n\u001b[31mc1,1,T\n',
      2,
      'cell id "\\u001b[31mc1"',
      '001B',
    ],
  ])('should refuse %s, naming the file and line', async (_what, text, line, shown, code) => {
    const path = await temp('control.csv', text);
    for (const read of [readExpression, summarizeExpression]) {
      const err = await errorOf(read(path, { role: 'reference' }));
      expect(err.message).toMatch(new RegExp(`^${path}, line ${line}: `));
      expect(err.message).toContain(`${shown} contains a control character (U+${code}`);
      expect(err.line).toBe(line);
    }
  });

  it('should refuse a tab in a tab-separated id only when quoted, where it is part of the id', async () => {
    const path = await temp('control.tsv', 'cell_id\tA\tcell_label\n"c\t1"\t1\tT\n');
    expect((await errorOf(readExpression(path, { role: 'reference' }))).message).toMatch(
      /line 2: cell id "c\\t1"/,
    );
  });

  it('should refuse control characters in the obs index and cell_label of an .h5ad', async () => {
    const content = {
      genes: ['A'],
      dense: Float32Array.from([1, 2]),
    };
    const ids = join(tmp, 'ids.h5ad');
    await writeH5ad(ids, { ...content, cellIds: ['ok', 'bad\nid'], obs: { cell_label: ['T', 'T'] } });
    for (const read of [readExpression, summarizeExpression]) {
      expect((await errorOf(read(ids, { role: 'reference' }))).message).toMatch(
        /ids\.h5ad, obs row 2: cell id "bad\\nid" contains a control character \(U\+000A/,
      );
    }
    const labels = join(tmp, 'labels.h5ad');
    await writeH5ad(labels, { ...content, cellIds: ['a', 'b'], obs: { cell_label: ['T', 'T\tx'] } });
    expect((await errorOf(readExpression(labels, { role: 'reference' }))).message).toMatch(
      /labels\.h5ad, obs row 2: cell_label "T\\tx" contains a control character/,
    );
  });
});
