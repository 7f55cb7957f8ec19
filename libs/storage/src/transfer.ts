import { readFile } from 'node:fs/promises';
import { ObjectNotFoundError, StorageError, TransferError } from './errors';
import { writeObjectAtomically } from './fs-atomic-write';
import { parseFileObjectUrl, type FileObjectTarget } from './fs-layout';
import { bufferView, normaliseSha256, sha256Hex, verifySha256 } from './sha256';
import { fetchFailureDetail, HTTPS_TRUST_ADVICE } from './tls-failure';

/**
 * The worker's side of storage: no credentials, only the presigned URLs of its job (TrainJob.model,
 * TrainJob.upload, ... in @fl/platform), fetched with the global fetch. file:// URLs come from the
 * filesystem store (embedded shape). Errors name the object key and the HTTP status, never the
 * URL: its query string is the signature, and a leaked signature is a leaked capability.
 */

/** GETs a presigned URL and checks the bytes against `sha256` (IntegrityError on mismatch). */
export async function downloadVerified(url: string, sha256: string): Promise<Buffer> {
  const target = parseUrl(url);
  const expected = normaliseSha256(sha256, target.key);
  let data: Buffer;
  if (target.kind === 'file') {
    checkFileUrl(target.file, 'GET');
    try {
      data = await readFile(target.file.path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (['ENOENT', 'ENOTDIR', 'EISDIR'].includes(code))
        throw new ObjectNotFoundError(target.key, { cause: err });
      throw new TransferError(target.key, 'GET', null, undefined, code, { cause: err });
    }
  } else {
    const res = await send(target, 'GET');
    if (res.status === 404) {
      await res.body?.cancel();
      throw new ObjectNotFoundError(target.key);
    }
    if (!res.ok) throw await refusal(target.key, 'GET', res);
    data = Buffer.from(await res.arrayBuffer());
  }
  verifySha256(target.key, data, expected);
  return data;
}

/** PUTs `data` to a presigned URL; returns what the worker reports back (WrittenObject). */
export async function uploadTo(url: string, data: Uint8Array): Promise<{ sha256: string; bytes: number }> {
  const target = parseUrl(url);
  if (target.kind === 'file') {
    checkFileUrl(target.file, 'PUT');
    try {
      // Not allowed to create <root>/.partial: a URL edited to point outside a store fails here.
      const stored = await writeObjectAtomically(target.file.root, target.key, bufferView(data), {
        createPartialDir: false,
      });
      return { sha256: stored.sha256, bytes: stored.bytes };
    } catch (err) {
      if (err instanceof StorageError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      throw new TransferError(target.key, 'PUT', null, undefined, code ?? (err as Error).message, {
        cause: err,
      });
    }
  }
  const res = await send(target, 'PUT', data);
  if (!res.ok) throw await refusal(target.key, 'PUT', res);
  await res.body?.cancel();
  return { sha256: sha256Hex(data), bytes: data.byteLength };
}

/**
 * The object key a URL addresses, for error messages: the `key` parameter of a file:// URL, or the
 * path after the bucket of a path-style S3 URL (how the minio client presigns for MinIO).
 */
export function objectKeyFromUrl(url: string): string {
  try {
    return parseUrl(url).key;
  } catch {
    return '(unknown)';
  }
}

type Target = { kind: 'http'; url: URL; key: string } | { kind: 'file'; key: string; file: FileObjectTarget };

function parseUrl(raw: string): Target {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // Do not echo `raw`: it may be a signed URL with a typo.
    throw new StorageError('not a valid object URL', '(unknown)');
  }
  if (url.protocol === 'file:') {
    const file = parseFileObjectUrl(url);
    return { kind: 'file', key: file.key, file };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new StorageError(`unsupported object URL scheme ${url.protocol}`, '(unknown)');
  }
  const segments = url.pathname.split('/').slice(2); // ['', bucket, ...key]
  const key =
    segments.length > 0 && segments.join('') !== '' ? segments.map(decodeSegment).join('/') : '(unknown)';
  return { kind: 'http', url, key };
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** file:// URLs are unsigned; checking method and expiry keeps behaviour aligned with S3's. */
function checkFileUrl(file: FileObjectTarget, method: 'GET' | 'PUT'): void {
  if (file.method !== method) {
    throw new TransferError(
      file.key,
      method,
      403,
      'AccessDenied',
      `URL was issued for ${file.method ?? 'no method'}`,
    );
  }
  if (Date.now() / 1000 > file.expires) {
    throw new TransferError(file.key, method, 403, 'AccessDenied', 'Request has expired');
  }
}

async function send(
  target: { url: URL; key: string },
  method: 'GET' | 'PUT',
  body?: Uint8Array,
): Promise<Response> {
  try {
    // No redirects: a presigned URL names its server, and the signature would not hold elsewhere.
    return await fetch(target.url, { method, body, redirect: 'error' });
  } catch (err) {
    // fetch's own message does not contain the URL; its cause has the network detail (an
    // untrusted certificate of a site's object-store endpoint, a refused connection).
    const detail = fetchFailureDetail(err, HTTPS_TRUST_ADVICE);
    throw new TransferError(target.key, method, null, undefined, detail, { cause: err });
  }
}

/** TransferError from an S3 error answer: its Code and Message (never the request's URL). */
async function refusal(key: string, method: 'GET' | 'PUT', res: Response): Promise<TransferError> {
  const text = await res.text().catch(() => '');
  const code = /<Code>([^<]{1,100})<\/Code>/.exec(text)?.[1];
  const message = /<Message>([^<]{1,300})<\/Message>/.exec(text)?.[1];
  return new TransferError(key, method, res.status, code, message);
}
