import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { constants, crc32, createGzip, deflateRawSync, gzipSync } from 'node:zlib';
import tar from 'tar-stream';

/**
 * Hostile files, generated into a temporary folder by STREAMING: nothing here holds more than a
 * few MiB in memory, whatever the size the file inflates to, and nothing big is committed.
 */

const MIB = 1024 * 1024;
const ZEROS = Buffer.alloc(MIB);

/**
 * Deflate of 1 MiB of zeros ending in a full flush: byte-aligned and referring to nothing before
 * it, so the same bytes can stand for every such MiB of a stream. Compressing a 1 GiB bomb is
 * then a matter of copying 1 KiB blocks (well under a second) instead of deflating 1 GiB (5-10 s
 * at level 9 on a shared core); the file is a valid gzip that inflates to the same bytes.
 */
const ZEROS_BLOCK = deflateRawSync(ZEROS, { level: 9, finishFlush: constants.Z_FULL_FLUSH });
/** The final (empty) deflate block. */
const LAST_BLOCK = deflateRawSync(Buffer.alloc(0));
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);

/** gzip whose 1 MiB zero chunks reuse ZEROS_BLOCK; other chunks are deflated on their own. */
function fastGzip(): Transform {
  let crc = 0;
  let size = 0;
  let started = false;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (!started) {
        started = true;
        this.push(GZIP_HEADER);
      }
      crc = crc32(chunk, crc);
      size = (size + chunk.length) % 2 ** 32;
      this.push(
        chunk.length === MIB && chunk.equals(ZEROS)
          ? ZEROS_BLOCK
          : deflateRawSync(chunk, { level: 9, finishFlush: constants.Z_FULL_FLUSH }),
      );
      done();
    },
    flush(done) {
      if (!started) this.push(GZIP_HEADER);
      const trailer = Buffer.alloc(8);
      trailer.writeUInt32LE(crc >>> 0, 0);
      trailer.writeUInt32LE(size, 4);
      this.push(Buffer.concat([LAST_BLOCK, trailer]));
      done();
    },
  });
}

/** `bytes` zero bytes, one shared 1 MiB buffer at a time. */
function* zeroChunks(bytes: number): Generator<Buffer> {
  for (let left = bytes; left > 0; left -= MIB) yield left >= MIB ? ZEROS : ZEROS.subarray(0, left);
}

/** Writes `source` through gzip to `path`; returns the file's size. */
async function gzipTo(
  path: string,
  source: Iterable<Buffer | string> | AsyncIterable<Buffer | string>,
  level: number = constants.Z_BEST_COMPRESSION,
) {
  await pipeline(Readable.from(source), createGzip({ level }), createWriteStream(path));
  return (await stat(path)).size;
}

/** A gzip that inflates to `bytes` zero bytes (1 GiB -> about 1 MiB). */
export async function gzipOfZeros(path: string, bytes: number): Promise<number> {
  await pipeline(
    Readable.from(zeroChunks(bytes), { objectMode: false }),
    fastGzip(),
    createWriteStream(path),
  );
  return (await stat(path)).size;
}

/**
 * A well-formed reference/query table, gzipped: `cells` rows of `genes` zero counts (plus a
 * cell_label column for a reference). 5 M cells x 100 genes is about 1 GB of text and 4-10 MB gzip.
 */
export function gzipWideMatrix(
  path: string,
  cells: number,
  genes: number,
  reference: boolean,
): Promise<number> {
  function* lines(): Generator<string> {
    const names = Array.from({ length: genes }, (_, g) => `G${g + 1}`);
    yield `cell_id,${names.join(',')}${reference ? ',cell_label' : ''}\n`;
    const tail = `${',0'.repeat(genes)}${reference ? ',T cell' : ''}\n`;
    const BATCH = 5000;
    for (let i = 0; i < cells; i += BATCH) {
      let block = '';
      for (let j = i; j < Math.min(cells, i + BATCH); j++) block += `c${j}${tail}`;
      yield block;
    }
  }
  // Fastest compression: generating 1 GB of text must not dominate the suite's time.
  return gzipTo(path, lines(), constants.Z_BEST_SPEED);
}

/** A plain .csv whose header line alone is `bytes` long (gene names g0000001,...), then one row. */
export async function longHeaderCsv(path: string, bytes: number): Promise<number> {
  function* parts(): Generator<string> {
    yield 'cell_id';
    let written = 7;
    let g = 0;
    while (written < bytes) {
      let block = '';
      for (let k = 0; k < 10_000 && written < bytes; k++) {
        const name = `,g${String(g++).padStart(8, '0')}`;
        block += name;
        written += name.length;
      }
      yield block;
    }
    yield '\nc1,1\n';
  }
  await pipeline(Readable.from(parts()), createWriteStream(path));
  return (await stat(path)).size;
}

// ----------------------------------------------------------------------------- archives

export interface TarEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'fifo';
  data?: Buffer | string;
  linkname?: string;
  /** Streamed zeros of this size instead of `data`. */
  zeros?: number;
}

async function writeEntry(pack: tar.Pack, entry: TarEntry): Promise<void> {
  const type = entry.type ?? 'file';
  if (entry.zeros !== undefined) {
    const sink = pack.entry({ name: entry.name, size: entry.zeros, mode: 0o644, type: 'file' });
    await pipeline(Readable.from(zeroChunks(entry.zeros)), sink as unknown as Writable);
    return;
  }
  const data = entry.data === undefined ? Buffer.alloc(0) : Buffer.from(entry.data);
  await new Promise<void>((resolve, reject) =>
    pack.entry(
      {
        name: entry.name,
        type,
        size: type === 'file' ? data.length : 0,
        mode: type === 'directory' ? 0o755 : 0o644,
        linkname: entry.linkname,
      },
      type === 'file' ? data : Buffer.alloc(0),
      (err) => (err ? reject(err) : resolve()),
    ),
  );
}

/** Streams a tar (gzipped when `gzip`) of `entries` to `path`; returns its size. */
export async function writeTar(path: string, entries: TarEntry[], gzip = false): Promise<number> {
  const pack = tar.pack();
  const out = gzip
    ? pipeline(pack, fastGzip(), createWriteStream(path))
    : pipeline(pack, createWriteStream(path));
  for (const entry of entries) await writeEntry(pack, entry);
  pack.finalize();
  await out;
  return (await stat(path)).size;
}

/** A small tar in memory (for the small hostile archives). */
export async function tarBuffer(entries: TarEntry[], gzip = false): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  })();
  for (const entry of entries) await writeEntry(pack, entry);
  pack.finalize();
  await collected;
  const raw = Buffer.concat(chunks);
  return gzip ? gzipSync(raw) : raw;
}

/** A manifest.json that looks like a bundle's (enough to get an archive past the first checks). */
export const FAKE_MANIFEST = JSON.stringify({
  format: 'scprivacy-model',
  version: 1,
  files: { 'weights.bin': { sha256: '0'.repeat(64) } },
});
