import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from './input-error';
import { listDataFiles } from './list-data-files';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'formats-list-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('listDataFiles', () => {
  it('should list supported files sorted by name in byte order, skipping hidden and other files', async () => {
    const dir = join(tmp, 'refs');
    await mkdir(join(dir, 'sub.csv'), { recursive: true });
    const names = [
      'b.csv',
      'B.tsv.gz',
      'a.h5ad',
      'ä.txt',
      'z.csv.gz',
      '.hidden.csv',
      'notes.md',
      'x.labels.tsv',
    ];
    for (const name of names) await writeFile(join(dir, name), '');
    await symlink(join(dir, 'b.csv'), join(dir, 'link.csv'));
    expect(await listDataFiles(dir)).toEqual(
      ['B.tsv.gz', 'a.h5ad', 'b.csv', 'link.csv', 'x.labels.tsv', 'z.csv.gz', 'ä.txt'].map((n) =>
        join(dir, n),
      ),
    );
  });

  it('should return a file path as it is', async () => {
    const file = join(tmp, 'one.csv');
    await writeFile(file, '');
    expect(await listDataFiles(file)).toEqual([file]);
  });

  it('should say which extensions are accepted when a folder has no data files', async () => {
    const dir = join(tmp, 'empty');
    await mkdir(dir);
    await writeFile(join(dir, 'readme.md'), '');
    const err = await listDataFiles(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).message).toBe(
      `${dir}: no data files in this folder; accepted: .csv, .csv.gz, .tsv, .tsv.gz, .txt, .txt.gz, .h5ad`,
    );
  });

  it('should say when the path does not exist', async () => {
    const missing = join(tmp, 'missing');
    await expect(listDataFiles(missing)).rejects.toThrow(`${missing}: no such file`);
  });
});
