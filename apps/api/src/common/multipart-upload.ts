import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BadRequestException, PayloadTooLargeException } from '@nestjs/common';
import busboy from 'busboy';

/** A file received into a private temporary folder, hashed on the way. */
export interface ReceivedFile {
  /** Temporary path; its name is the (sanitised) original file name, so formats are recognised. */
  path: string;
  dir: string;
  fileName: string;
  sha256: string;
  bytes: number;
}

export interface ReceivedUpload {
  file: ReceivedFile;
  fields: Record<string, string>;
  /** Deletes the temporary folder. Always call it (finally). */
  cleanup(): Promise<void>;
}

const MAX_FIELD_BYTES = 64 * 1024;

/** "8.0 MiB" */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * A file name that is safe as a path segment and an object-key segment, keeping the extension
 * (it decides the format: .csv, .tsv.gz, .h5ad ...).
 */
export function safeFileName(original: string | undefined): string {
  const base = (original ?? '').split(/[\\/]/).pop() ?? '';
  const cleaned = base.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[.]+/, '');
  if (cleaned === '') return 'upload';
  return cleaned.length <= 200 ? cleaned : cleaned.slice(cleaned.length - 200);
}

/**
 * Streams a multipart/form-data request's `file` field to a temporary file while hashing it,
 * and collects the other (small) fields. Past `maxBytes` the file is cut off, the rest of the
 * request is read and discarded (so the client sees the answer instead of a broken pipe), the
 * temporary file is deleted and a 413 is thrown: nothing is left behind.
 */
export async function receiveUpload(
  req: IncomingMessage,
  opts: { maxBytes: number; fileField?: string; what?: string },
): Promise<ReceivedUpload> {
  const fileField = opts.fileField ?? 'file';
  const contentType = req.headers['content-type'] ?? '';
  if (!/^multipart\/form-data/i.test(contentType)) {
    throw new BadRequestException(
      `Send ${opts.what ?? 'the file'} as multipart/form-data, in a field named "${fileField}".`,
    );
  }
  const dir = await mkdtemp(join(tmpdir(), 'scprivacy-upload-'));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    const result = await parse(req, dir, opts.maxBytes, fileField);
    if (result.tooLarge) {
      throw new PayloadTooLargeException(
        `${result.fileName} is larger than the upload limit of ${formatBytes(opts.maxBytes)} ` +
          '(UPLOAD_MAX_BYTES); nothing was stored.',
      );
    }
    if (!result.file) {
      throw new BadRequestException(
        `No file received: put ${opts.what ?? 'the file'} in a field named "${fileField}".`,
      );
    }
    if (result.file.bytes === 0) throw new BadRequestException(`${result.file.fileName} is empty.`);
    return { file: result.file, fields: result.fields, cleanup };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

interface Parsed {
  file?: ReceivedFile;
  fileName?: string;
  tooLarge: boolean;
  fields: Record<string, string>;
}

function parse(req: IncomingMessage, dir: string, maxBytes: number, fileField: string): Promise<Parsed> {
  return new Promise<Parsed>((resolve, reject) => {
    const out: Parsed = { tooLarge: false, fields: {} };
    let writing: Promise<void> = Promise.resolve();
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        limits: { fileSize: maxBytes, files: 1, fields: 20, fieldSize: MAX_FIELD_BYTES },
      });
    } catch (e) {
      reject(
        new BadRequestException(`The upload is not valid multipart/form-data: ${(e as Error).message}.`),
      );
      return;
    }
    parser.on('file', (name, stream, info) => {
      if (name !== fileField || out.fileName !== undefined) {
        stream.resume();
        return;
      }
      const fileName = safeFileName(info.filename);
      out.fileName = fileName;
      const path = join(dir, fileName);
      const hash = createHash('sha256');
      let bytes = 0;
      stream.on('limit', () => {
        out.tooLarge = true;
      });
      const meter = new Transform({
        transform(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          bytes += chunk.length;
          done(null, chunk);
        },
      });
      writing = pipeline(stream, meter, createWriteStream(path)).then(() => {
        out.file = { path, dir, fileName, sha256: hash.digest('hex'), bytes };
      });
    });
    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) {
        reject(new BadRequestException(`The form field "${name}" is longer than ${MAX_FIELD_BYTES} bytes.`));
        return;
      }
      out.fields[name] = value;
    });
    parser.on('error', (e: Error) => {
      reject(new BadRequestException(`The upload could not be read: ${e.message}.`));
    });
    parser.on('close', () => {
      writing.then(
        () => resolve(out),
        (e: Error) => reject(new BadRequestException(`The upload could not be stored: ${e.message}.`)),
      );
    });
    req.on('aborted', () => reject(new BadRequestException('The upload was interrupted.')));
    req.pipe(parser);
  });
}
