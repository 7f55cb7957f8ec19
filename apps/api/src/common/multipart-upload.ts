import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
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

/** The form fields an upload may carry beside its file (name, modelVersionId, ...). */
const MAX_FIELDS = 20;
/**
 * Bytes a request may carry beyond the file's limit: the fields, part headers (16 KiB each at
 * most, busboy's own bound) and boundaries. Past it the request is cut off, whatever it holds:
 * an endless preamble or field never reaches a per-part limit.
 */
const MULTIPART_OVERHEAD_BYTES = MAX_FIELDS * MAX_FIELD_BYTES + 1024 * 1024;

/**
 * Reads no more of `req`. Its unread bytes stay on the socket, so the answer must be the last
 * thing sent on the connection: Connection: close makes Node close it once the answer is out
 * (or, when the answer is already out, the connection is closed now).
 */
function stopReading(req: IncomingMessage): void {
  const res = (req as IncomingMessage & { res?: ServerResponse }).res;
  req.pause();
  if (res && !res.headersSent) res.setHeader('Connection', 'close');
  else req.destroy();
}

/**
 * Streams the request through busboy. Every way out (done, a limit, a malformed body, the
 * client going away) waits for the temporary file to be closed, so the caller's cleanup
 * removes everything; past the byte limit nothing more is read and the connection is closed
 * after the answer.
 */
function parse(req: IncomingMessage, dir: string, maxBytes: number, fileField: string): Promise<Parsed> {
  return new Promise<Parsed>((resolve, reject) => {
    const out: Parsed = { tooLarge: false, fields: {} };
    const maxRequestBytes = maxBytes + MULTIPART_OVERHEAD_BYTES;
    let writing: Promise<void> = Promise.resolve();
    let settled = false;
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        limits: {
          fileSize: maxBytes,
          files: 1,
          fields: MAX_FIELDS,
          parts: MAX_FIELDS + 2, // busboy signals when this many parts are reached
          fieldSize: MAX_FIELD_BYTES,
          fieldNameSize: 100,
          headerPairs: 20,
        },
      });
    } catch (e) {
      reject(
        new BadRequestException(`The upload is not valid multipart/form-data: ${(e as Error).message}.`),
      );
      return;
    }

    /** Stops reading, lets the file stream close, then answers `error`. */
    const fail = (error: Error, closeConnection = false) => {
      if (settled) return;
      settled = true;
      req.unpipe(parser);
      req.off('data', count);
      if (closeConnection) {
        stopReading(req);
      } else {
        req.resume(); // read and discard the (bounded) rest, so the client sees the answer
        req.on('data', countDiscarded);
      }
      parser.destroy();
      writing.then(
        () => reject(error),
        () => reject(error),
      );
    };
    const succeed = () => {
      if (settled) return;
      settled = true;
      req.off('data', count);
      resolve(out);
    };

    let received = 0;
    const overLimit = () =>
      new PayloadTooLargeException(
        `${out.fileName ?? 'The upload'} is larger than the upload limit of ${formatBytes(maxBytes)} ` +
          '(UPLOAD_MAX_BYTES); nothing was stored.',
      );
    function count(chunk: Buffer) {
      received += chunk.length;
      if (received > maxRequestBytes) fail(overLimit(), true);
    }
    function countDiscarded(chunk: Buffer) {
      received += chunk.length;
      if (received > maxRequestBytes) {
        req.off('data', countDiscarded);
        stopReading(req);
      }
    }
    req.on('data', count);

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
      // Observed by 'close' or fail(); this keeps a failed write from being an unhandled rejection.
      writing.catch(() => undefined);
    });
    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) {
        fail(new BadRequestException(`The form field "${name}" is longer than ${MAX_FIELD_BYTES} bytes.`));
        return;
      }
      out.fields[name] = value;
    });
    parser.on('partsLimit', () =>
      fail(new BadRequestException(`The upload has more than ${MAX_FIELDS} form fields besides the file.`)),
    );
    parser.on('fieldsLimit', () =>
      fail(new BadRequestException(`The upload has more than ${MAX_FIELDS} form fields besides the file.`)),
    );
    parser.on('filesLimit', () =>
      fail(new BadRequestException(`Send one file per upload, in a field named "${fileField}".`)),
    );
    parser.on('error', (e: Error) => {
      fail(new BadRequestException(`The upload could not be read: ${e.message}.`));
    });
    parser.on('close', () => {
      writing.then(succeed, (e: Error) =>
        fail(new BadRequestException(`The upload could not be stored: ${e.message}.`)),
      );
    });
    const interrupted = () => {
      if (!req.complete) fail(new BadRequestException('The upload was interrupted.'));
    };
    req.on('aborted', interrupted);
    req.on('close', interrupted);
    req.on('error', interrupted);
    req.pipe(parser);
  });
}
