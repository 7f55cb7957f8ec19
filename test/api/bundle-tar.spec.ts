import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '@fl/formats';
import { BundleTooLargeError, extractBundle } from '../../apps/api/src/models/bundle-tar';
import {
  bundleTar,
  gzip,
  gzipBombBundle,
  tarOf,
  tinyBundleFiles,
  type TarEntry,
} from './support/bundle-fixtures';

const MIB = 1024 * 1024;

describe('extractBundle: hostile archives', () => {
  let work: string;
  let files: Record<string, Buffer>;
  let n = 0;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'bundle-tar-'));
    files = await tinyBundleFiles();
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** Writes `archive`, extracts it with `maxBytes`, returns the error (or undefined) and the target. */
  async function extract(archive: Buffer, maxBytes = 64 * MIB): Promise<{ error?: Error; dir: string }> {
    const path = join(work, `archive-${++n}.tar`);
    await writeFile(path, archive);
    const dir = join(work, `out-${n}`);
    try {
      await extractBundle(path, 'model.tar', dir, { maxBytes });
      return { dir };
    } catch (e) {
      return { error: e as Error, dir };
    }
  }

  const exists = (path: string) =>
    stat(path).then(
      () => true,
      () => false,
    );

  /** The refusal of `entries` (with a valid bundle around them): an InputError, nothing left on disk. */
  async function refusal(entries: TarEntry[], maxBytes?: number): Promise<string> {
    const { error, dir } = await extract(await tarOf(entries), maxBytes);
    expect(error).toBeInstanceOf(InputError);
    expect(await exists(dir)).toBe(false);
    return error!.message;
  }

  const manifest = (name = 'model/manifest.json'): TarEntry => ({ name, data: files['manifest.json'] });

  it('should extract a bundle from a tar and from a .tar.gz, at the root or in one folder', async () => {
    for (const archive of [await bundleTar(files), gzip(await bundleTar(files))]) {
      const { error, dir } = await extract(archive);
      expect(error).toBeUndefined();
      expect((await readdir(dir)).sort()).toEqual(Object.keys(files).sort());
      for (const [name, data] of Object.entries(files))
        expect((await readFile(join(dir, name))).equals(data)).toBe(true);
    }
    const root = await tarOf(Object.entries(files).map(([name, data]) => ({ name: `./${name}`, data })));
    expect((await extract(root)).error).toBeUndefined();
  });

  it('should refuse two manifests (in two folders or the same path twice) without crashing', async () => {
    // An 'error' on an undrained entry stream is an uncaught exception: fatal in the api.
    const uncaught: unknown[] = [];
    const watch = (e: unknown) => uncaught.push(e);
    process.on('uncaughtException', watch);
    try {
      expect(await refusal([manifest('a/manifest.json'), manifest('b/manifest.json')])).toMatch(
        /^model\.tar: the archive holds manifest\.json twice \(a\/manifest\.json and b\/manifest\.json\)/,
      );
      expect(await refusal([manifest(), manifest()])).toMatch(/manifest\.json twice/);
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      process.off('uncaughtException', watch);
    }
    expect(uncaught).toEqual([]);
  });

  it('should refuse bundle files spread over two folders', async () => {
    expect(await refusal([manifest('a/manifest.json'), { name: 'b/genes.txt', data: 'x\n' }])).toMatch(
      /b\/genes\.txt is not in the same folder as a\/manifest\.json/,
    );
  });

  it.each([
    ['symlink', { name: 'model/weights.bin', type: 'symlink', linkname: '/etc/passwd' }],
    ['link', { name: 'model/genes.txt', type: 'link', linkname: 'model/manifest.json' }],
    ['character-device', { name: 'model/dev', type: 'character-device' }],
    ['block-device', { name: 'model/disk', type: 'block-device' }],
    ['fifo', { name: 'model/pipe', type: 'fifo' }],
  ] as const)('should refuse a %s entry', async (type, entry) => {
    const message = await refusal([manifest(), entry as TarEntry]);
    expect(message).toContain(`model.tar: ${entry.name} is a ${type}`);
    expect(message).toMatch(/only regular files and folders/);
  });

  it.each([['../manifest.json'], ['model/../../etc/cron.d/x'], ['/etc/passwd'], ['/model/manifest.json']])(
    'should refuse the path %s',
    async (name) => {
      expect(await refusal([manifest(), { name, data: '{}' }])).toMatch(
        /is an absolute path or climbs out with \.\.; entries must be relative paths inside the archive/,
      );
    },
  );

  it('should refuse more than 64 entries', async () => {
    const entries: TarEntry[] = Array.from({ length: 70 }, (_, i) => ({ name: `junk/${i}.txt`, data: 'x' }));
    expect(await refusal([manifest(), ...entries])).toMatch(/more than 64 entries/);
  });

  it('should refuse a path longer than 512 characters', async () => {
    expect(await refusal([manifest(), { name: `model/${'d'.repeat(600)}/x`, data: 'x' }])).toMatch(
      /a path of 608 characters; at most 512/,
    );
  });

  it('should refuse a manifest.json over 1 MiB and a genes.txt over 16 MiB', async () => {
    const big = await refusal([{ name: 'model/manifest.json', data: Buffer.alloc(MIB + 1, 0x20) }]);
    expect(big).toMatch(
      /model\/manifest\.json holds 1048577 bytes; a bundle's manifest\.json may hold at most 1\.0 MiB$/,
    );
    const genes = Buffer.alloc(16 * MIB + 2, 0x0a);
    const err = (await extract(await tarOf([manifest(), { name: 'model/genes.txt', data: genes }]))).error;
    expect(err).toBeInstanceOf(BundleTooLargeError);
    expect(err?.message).toMatch(
      /genes\.txt holds 16777218 bytes; a bundle's genes\.txt may hold at most 16\.0 MiB$/,
    );
  });

  it('should refuse an archive that inflates past the bundle limit, whatever the entries', async () => {
    // Three 600 KiB files the bundle does not use: each is small, together they pass 1 MiB.
    const junk = Array.from({ length: 3 }, (_, i) => ({
      name: `model/junk-${i}`,
      data: Buffer.alloc(600 * 1024),
    }));
    const message = await refusal([manifest(), ...junk], MIB);
    expect(message).toMatch(/model\.tar inflates to more than 1\.0 MiB \(BUNDLE_MAX_BYTES\)/);
  });

  it('should refuse a gzip bomb by its weights.bin header before inflating it', async () => {
    const { error, dir } = await extract(await gzipBombBundle(256 * MIB), 8 * MIB);
    expect(error).toBeInstanceOf(BundleTooLargeError);
    expect(error?.message).toMatch(
      /model\/weights\.bin holds 268435456 bytes; a bundle's weights\.bin may hold at most 8\.0 MiB \(BUNDLE_MAX_BYTES\)$/,
    );
    expect(await exists(dir)).toBe(false);
  });

  it('should refuse a truncated archive and a broken gzip with the archive name', async () => {
    const whole = await bundleTar(files);
    const cut = await extract(whole.subarray(0, 1500));
    expect(cut.error).toBeInstanceOf(InputError);
    expect(cut.error?.message).toMatch(/^model\.tar: not a readable tar archive/);
    const gz = gzip(whole);
    const broken = await extract(Buffer.concat([gz.subarray(0, 40), Buffer.alloc(100, 7)]));
    expect(broken.error?.message).toMatch(/^model\.tar: not a readable tar archive/);
    expect(await exists(broken.dir)).toBe(false);
  });

  it('should refuse an archive without a manifest.json', async () => {
    expect(await refusal([{ name: 'model/genes.txt', data: 'a\n' }])).toMatch(/no manifest\.json found/);
  });
});
