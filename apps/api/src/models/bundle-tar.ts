import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { InputError } from '@fl/formats';
import tar from 'tar-stream';
import { formatBytes } from '../common/multipart-upload';
import { BundleTooLargeError } from './bundle-errors';

import { bundleFileKind, type BundleFileKind } from './bundle-files';

/** A bundle file's name: one of BUNDLE_FILES or an ensemble member's (weights-<k>.bin ...). */
type BundleFile = string;

const MIB = 1024 * 1024;

/**
 * What each file of a bundle may hold. weights.bin grows with genes x hidden units and is bounded
 * by the bundle limit only; the others are text whose size the manifest's shape explains
 * (100,000 gene names; landmarks as JSON numbers), with room to spare.
 */
const FILE_MAX_BYTES: Record<BundleFileKind, number> = {
  'manifest.json': MIB,
  'genes.txt': 16 * MIB,
  'landmarks.json': 64 * MIB,
  'weights.bin': Number.POSITIVE_INFINITY,
};

/** `tar -cf` of a bundle folder holds five entries; anything near this is not a bundle. */
export const MAX_ENTRIES = 64;
export const MAX_PATH_CHARS = 512;

export { BundleTooLargeError } from './bundle-errors';

export interface BundleLimits {
  /** Decompressed bytes of the whole archive (headers, padding and unused entries included). */
  maxBytes: number;
}

/** A tar of the bundle folder `dir`, its files under `folder/` (as `tar -cf x.tar folder` makes). */
export async function packBundle(dir: string, folder: string): Promise<Readable> {
  const names = (await readdir(dir)).filter((n) => bundleFileKind(n) !== undefined).sort();
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
 * GET /model-versions/:id/bundle into `dir`, streaming each of the bundle's four files to disk.
 * The archive is refused (an InputError naming it; BundleTooLargeError past a cap) when it
 * inflates past `limits.maxBytes`, holds a file larger than a bundle's file may be, more than
 * MAX_ENTRIES entries, a path longer than MAX_PATH_CHARS, an absolute or `..` path, a link, a
 * device or a fifo, a bundle file twice or bundle files in two folders. On any failure `dir` is
 * removed; nothing of the archive stays on disk.
 */
export async function extractBundle(
  archive: string,
  archiveName: string,
  dir: string,
  limits: BundleLimits,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  try {
    await extractInto(archive, archiveName, dir, limits);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

async function extractInto(archive: string, archiveName: string, dir: string, limits: BundleLimits) {
  const gzipped = await startsWithGzipMagic(archive);
  const inflated = new ByteCap(
    limits.maxBytes,
    () =>
      new BundleTooLargeError(
        `${archiveName} inflates to more than ${formatBytes(limits.maxBytes)} (BUNDLE_MAX_BYTES); ` +
          'a model bundle archive holds its four files only',
      ),
  );
  const extract = tar.extract();
  // Feeds the extractor while the loop below takes its entries; when the loop stops early it
  // destroys the extractor, which ends this pipeline (its rejection is then expected).
  const feeding = pipeline(
    createReadStream(archive),
    gzipped ? createGunzip() : new PassThrough(),
    inflated,
    extract,
  );
  feeding.catch(() => undefined);
  const placed = new Map<BundleFile, string>();
  let entries = 0;
  try {
    // The async iterator consumes one entry at a time and destroys the extractor (and the entry
    // streams) when the loop throws: no entry stream is left undrained with an error pending.
    for await (const entry of extract) {
      const header = entry.header;
      if (++entries > MAX_ENTRIES) {
        throw new InputError(
          `${archiveName}: the archive holds more than ${MAX_ENTRIES} entries; a model bundle has four files`,
        );
      }
      const base = bundleFileOf(header, archiveName);
      // A folder's entry has no data to read (tar-stream never ends a folder's stream).
      if (header.type === 'directory') continue;
      if (base === undefined) {
        for await (const chunk of entry) void chunk; // not part of the bundle: read past it
        continue;
      }
      claim(placed, base, header.name, archiveName);
      const cap = Math.min(FILE_MAX_BYTES[bundleFileKind(base)!], limits.maxBytes);
      const tooLarge = (bytes: number) =>
        new BundleTooLargeError(
          `${archiveName}: ${header.name} holds ${bytes} bytes; a bundle's ${base} may hold at most ` +
            `${formatBytes(cap)}${cap === limits.maxBytes ? ' (BUNDLE_MAX_BYTES)' : ''}`,
        );
      // A tar header states its entry's size: a bomb is refused before a byte of it is inflated.
      if ((header.size ?? 0) > cap) throw tooLarge(header.size ?? 0);
      await writeEntry(entry as AsyncIterable<Buffer>, join(dir, base), cap, tooLarge);
    }
    await feeding;
  } catch (e) {
    throw inputErrorOf(inflated.error ?? e, archiveName);
  }
  if (!placed.has('manifest.json')) {
    throw new InputError(
      `${archiveName}: no manifest.json found at the top of the archive or in one folder; ` +
        'expected a model bundle from `scprivacy run --model-dir`',
    );
  }
}

/** The bundle file an entry is, or undefined for an entry to skip; refuses unsafe entries. */
function bundleFileOf(header: tar.Header, archiveName: string): BundleFile | undefined {
  const name = header.name;
  if (name.length > MAX_PATH_CHARS) {
    throw new InputError(
      `${archiveName}: an entry has a path of ${name.length} characters; at most ${MAX_PATH_CHARS} are accepted`,
    );
  }
  const segments = name.split('/');
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name) || segments.includes('..')) {
    throw new InputError(
      `${archiveName}: ${name} is an absolute path or climbs out with ..; ` +
        'entries must be relative paths inside the archive',
    );
  }
  // tar-stream gives null for type flags it does not know (GNU sparse files, volume labels ...).
  const type = header.type as tar.Header['type'] | null;
  if (type !== 'file' && type !== 'contiguous-file' && type !== 'directory') {
    throw new InputError(
      `${archiveName}: ${name} is a ${type ?? 'entry of an unknown type'}; ` +
        'a model bundle archive holds only regular files and folders',
    );
  }
  const parts = segments.filter((p: string) => p !== '' && p !== '.');
  const base: BundleFile = parts[parts.length - 1];
  const wanted = header.type !== 'directory' && parts.length <= 2 && bundleFileKind(base) !== undefined;
  return wanted ? base : undefined;
}

/** Records where a bundle file was found; a second copy or a second folder is refused. */
function claim(placed: Map<BundleFile, string>, base: BundleFile, name: string, archiveName: string) {
  if (placed.has(base)) {
    throw new InputError(
      `${archiveName}: the archive holds ${base} twice (${placed.get(base)} and ${name}); ` +
        'pack one model bundle per archive',
    );
  }
  const folderOf = (path: string) => path.slice(0, path.length - (path.split('/').pop() ?? '').length);
  const first = placed.values().next().value as string | undefined;
  if (first !== undefined && folderOf(first).replace(/^\.\//, '') !== folderOf(name).replace(/^\.\//, '')) {
    throw new InputError(
      `${archiveName}: ${name} is not in the same folder as ${first}; pack one model bundle folder per archive`,
    );
  }
  placed.set(base, name);
}

/** Streams one entry to a new file, counting its bytes (the header's size is checked before). */
async function writeEntry(
  entry: AsyncIterable<Buffer>,
  path: string,
  cap: number,
  tooLarge: (bytes: number) => Error,
): Promise<void> {
  const file = await open(path, 'wx');
  try {
    let bytes = 0;
    for await (const chunk of entry) {
      bytes += chunk.length;
      if (bytes > cap) throw tooLarge(bytes);
      await file.write(chunk);
    }
  } finally {
    await file.close();
  }
}

/** Passes bytes through and fails the stream once more than `max` went by. */
class ByteCap extends Transform {
  private bytes = 0;
  error: Error | undefined;

  constructor(
    private readonly max: number,
    private readonly tooLarge: () => Error,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: (e?: Error | null, c?: Buffer) => void) {
    this.bytes += chunk.length;
    if (this.bytes > this.max) {
      this.error = this.tooLarge();
      done(this.error);
      return;
    }
    done(null, chunk);
  }
}

function inputErrorOf(e: unknown, archiveName: string): InputError {
  if (e instanceof InputError) return e;
  return new InputError(
    `${archiveName}: not a readable tar archive (${(e as Error).message}); ` +
      'pack the model folder written by `scprivacy run --model-dir` with tar -cf',
  );
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
