import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { InputError } from './input-error';
import { limitError, resolveLimits, type ResolvedLimits } from './read-limits';
import type { ReadProgress } from './types';

/** 1 MiB reads: large enough that per-chunk overhead vanishes next to parsing. */
const READ_SIZE = 1 << 20;
/** Progress at most every 4 MiB of file so callers can redraw without slowing us down. */
const PROGRESS_STEP = 4 << 20;

/**
 * The bytes of a (possibly gzip-compressed) file as a sequence of Buffers, so
 * that a reader never holds the whole file.
 *
 * A yielded Buffer is only valid until the next one is requested: plain files
 * are read into one reused buffer, because touching fresh memory (page faults)
 * costs more than parsing it on some hosts. Progress counts bytes of the file
 * on disk (compressed bytes for .gz), since that is the only size known ahead.
 *
 * The bytes handed out are capped at `limits.maxDecompressedBytes`, counted as they
 * are inflated: a gzip bomb stops at the cap, with at most a chunk or two in memory.
 */
export async function* fileChunks(
  path: string,
  gzip: boolean,
  progress: ReadProgress = {},
  limits: ResolvedLimits = resolveLimits(),
): AsyncGenerator<Buffer> {
  const total = await fileSize(path);
  let reported = 0;
  const report = (done: number) => {
    if (progress.onProgress && (done === 0 || done === total || done - reported >= PROGRESS_STEP)) {
      reported = done;
      progress.onProgress(done, total);
    }
  };
  report(0);
  const max = limits.maxDecompressedBytes;
  let bytes = 0;
  try {
    for await (const chunk of gzip ? gunzipChunks(path, report) : plainChunks(path, report)) {
      bytes += chunk.length;
      if (bytes > max) {
        const what = gzip ? 'the text decompressed from the file' : 'the file';
        throw limitError(limits, 'maxDecompressedBytes', { file: path }, what);
      }
      yield chunk;
    }
  } catch (err) {
    throw asInputError(err, path, gzip);
  }
  report(total);
}

async function* plainChunks(path: string, report: (done: number) => void): AsyncGenerator<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(READ_SIZE);
    let done = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, READ_SIZE, null);
      if (bytesRead === 0) return;
      if (done === 0 && bytesRead >= 2 && buffer[0] === 0x1f && buffer[1] === 0x8b) {
        throw new InputError(
          `${path}: the file is gzip-compressed but its name does not end in .gz; rename it to end in .gz`,
          path,
        );
      }
      done += bytesRead;
      yield buffer.subarray(0, bytesRead);
      report(done);
    }
  } finally {
    await handle.close();
  }
}

async function* gunzipChunks(path: string, report: (done: number) => void): AsyncGenerator<Buffer> {
  const raw = createReadStream(path, { highWaterMark: READ_SIZE });
  const gunzip = createGunzip({ chunkSize: READ_SIZE });
  raw.on('error', (err) => gunzip.destroy(err));
  raw.pipe(gunzip);
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      yield chunk;
      // bytesRead runs at most one read ahead of what we have parsed: fine for a progress bar.
      report(raw.bytesRead);
    }
  } finally {
    raw.destroy();
    gunzip.destroy();
  }
}

async function fileSize(path: string): Promise<number> {
  try {
    const s = await stat(path);
    if (s.isDirectory()) throw new InputError(`${path} is a folder; expected a data file`, path);
    return s.size;
  } catch (err) {
    throw asInputError(err, path, false);
  }
}

/** Turns the system's errors into messages a user can act on; keeps ours as they are. */
export function asInputError(err: unknown, path: string, gzip: boolean): unknown {
  if (err instanceof InputError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new InputError(`${path}: no such file`, path);
  if (code === 'EACCES') return new InputError(`${path}: permission denied`, path);
  if (code === 'EISDIR') return new InputError(`${path} is a folder; expected a data file`, path);
  if (gzip && typeof code === 'string' && code.startsWith('Z_')) {
    return new InputError(`${path}: not a valid gzip file (${(err as Error).message})`, path);
  }
  return err;
}
