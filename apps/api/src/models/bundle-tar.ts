import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { InputError } from '@fl/formats';
import tar from 'tar-stream';

/** The files of a command-line model bundle (libs/federation saveBundle). */
export const BUNDLE_FILES = ['manifest.json', 'genes.txt', 'weights.bin', 'landmarks.json'] as const;

/** A tar of the bundle folder `dir`, its files under `folder/` (as `tar -cf x.tar folder` makes). */
export async function packBundle(dir: string, folder: string): Promise<Readable> {
  const names = (await readdir(dir)).filter((n) => (BUNDLE_FILES as readonly string[]).includes(n)).sort();
  const files = await Promise.all(
    names.map(async (name) => ({ name, data: await readFile(join(dir, name)) })),
  );
  const pack = tar.pack();
  for (const { name, data } of files)
    pack.entry({ name: `${folder}/${name}`, size: data.length, mode: 0o644 }, data);
  pack.finalize();
  return Readable.from(pack as AsyncIterable<Buffer>);
}

/**
 * Extracts a bundle tar (optionally gzipped) made by `tar -cf model.tar <model-dir>` or by
 * GET /model-versions/:id/bundle into `dir`. Only the bundle's four files are taken, from the
 * archive's root or one folder: no paths, links or devices reach the disk. Mistakes are
 * InputErrors naming the archive.
 */
export async function extractBundle(archive: string, archiveName: string, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const extract = tar.extract();
  const seen = new Set<string>();
  extract.on('entry', (header, stream, next) => {
    const parts = header.name
      .replace(/^\.\//, '')
      .split('/')
      .filter((p) => p !== '' && p !== '.');
    const base = parts[parts.length - 1];
    const wanted =
      header.type === 'file' &&
      parts.length <= 2 &&
      !parts.includes('..') &&
      (BUNDLE_FILES as readonly string[]).includes(base);
    if (!wanted) {
      stream.resume();
      stream.on('end', () => next());
      return;
    }
    if (seen.has(base)) {
      next(
        new InputError(`${archiveName}: the archive holds ${base} twice; pack one model bundle per archive`),
      );
      return;
    }
    seen.add(base);
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => {
      chunks.push(c as Buffer);
    });
    stream.on('end', () => {
      writeFile(join(dir, base), Buffer.concat(chunks)).then(() => next(), next);
    });
    stream.on('error', next);
  });
  const source = createReadStream(archive);
  const gzipped = await startsWithGzipMagic(archive);
  try {
    await pipeline(source, gzipped ? createGunzip() : new PassThrough(), extract);
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(
      `${archiveName}: not a readable tar archive (${(e as Error).message}); ` +
        'pack the model folder written by `scprivacy run --model-dir` with tar -cf',
    );
  }
  if (!seen.has('manifest.json')) {
    throw new InputError(
      `${archiveName}: no manifest.json found at the top of the archive or in one folder; ` +
        'expected a model bundle from `scprivacy run --model-dir`',
    );
  }
}

async function startsWithGzipMagic(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    await handle.close();
  }
}
