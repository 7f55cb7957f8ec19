/**
 * A throw-away S3 endpoint for integration tests: s3rver (an S3 look-alike written in Node) on a
 * random loopback port with its own temporary directory. Tests talk to it over real HTTP through
 * the same `minio` client production uses against MinIO.
 *
 * What s3rver 3.7 enforces, read from node_modules/s3rver/lib/middleware/authentication.js and
 * pinned by libs/storage/src/s3-access.spec.ts:
 * - a request with NO credentials at all (no Authorization header, no signature in the query) is
 *   served, for reads and writes alike: s3rver has no notion of private buckets;
 * - Signature V4 (what `minio` and every current SDK send, headers and presigned URLs alike) is
 *   NOT verified: any signature is accepted as long as the access key id is S3RVER. Editing a
 *   presigned URL to point at another key therefore works against s3rver;
 * - what it does check: that the access key id is S3RVER (else 403 InvalidAccessKeyId), that a
 *   presigned URL has not expired (X-Amz-Date + X-Amz-Expires in the past -> 403 AccessDenied
 *   "Request has expired"), and that a header-signed request's date is within 15 minutes. Only
 *   the legacy Signature V2, which nothing here sends, is actually verified. It accepts any
 *   X-Amz-Expires (30 days, say) and a URL dated in the future, which MinIO refuses; this server
 *   therefore checks a presigned URL's dates itself, in both modes (`checkPresignedDates`).
 * - a PUT body is written in place, so an upload cut mid-body leaves a truncated object visible.
 * MinIO differs on the first two and the last: buckets are private by default (anonymous -> 403
 * AccessDenied), every V4 signature is verified (edited URL -> 403 SignatureDoesNotMatch), and an
 * object appears only once its whole body has arrived.
 *
 * `startS3Server({ verifySignatures: true })` puts a small Signature V4 checker in front of
 * s3rver that behaves like MinIO on those points (see `checkSignatureV4` below), so tenant
 * isolation — workers hold no credentials, only presigned URLs for exactly their objects — can be
 * tested end to end. It is an emulation written for these tests, not MinIO: it does not check the
 * payload against x-amz-content-sha256, and knows no bucket policies, STS tokens or Signature V2.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** s3rver ships no type declarations; the little of it used here. */
interface S3rverInstance {
  callback(): RequestListener;
  logger?: { close(): void };
}
type S3rverConstructor = new (options: Record<string, unknown>) => S3rverInstance;

export interface S3ServerOptions {
  /** Refuse anonymous requests and check every Signature V4, as MinIO does (see the header). */
  verifySignatures?: boolean;
  /** Address to listen on (default 127.0.0.1); presigned URLs name it. */
  host?: string;
}

export interface S3Server {
  endPoint: string;
  port: number;
  useSSL: false;
  accessKey: string;
  secretKey: string;
  region: string;
  /** s3rver's data directory: buckets are folders, an object `k` is stored in `<bucket>/<k>._S3rver_object`. */
  directory: string;
  /** Closes the server (dropping kept-alive connections) and deletes the data directory. */
  stop(): Promise<void>;
}

/** s3rver's hard-coded account (lib/models/account.js); no other credentials exist. */
const ACCESS_KEY = 'S3RVER';
const SECRET_KEY = 'S3RVER';
const REGION = 'us-east-1';

const requireCjs = createRequire(import.meta.url);

export async function startS3Server(options: S3ServerOptions = {}): Promise<S3Server> {
  const S3rver = requireCjs('s3rver') as S3rverConstructor;
  const host = options.host ?? '127.0.0.1';
  const directory = mkdtempSync(join(tmpdir(), 's3rver-'));
  // Only the request handler is taken from s3rver (what its own run() mounts), so the listening
  // socket is ours: port 0 on loopback, and the bound port read back from the server.
  const s3rver = new S3rver({ directory, silent: true, vhostBuckets: false, resetOnClose: false });
  const handle = s3rver.callback();
  const listener: RequestListener = options.verifySignatures
    ? (req, res) => {
        const denial = checkSignatureV4(req, {
          accessKey: ACCESS_KEY,
          secretKey: SECRET_KEY,
          region: REGION,
        });
        if (denial) refuse(req, res, denial);
        else handle(req, res);
      }
    : (req, res) => {
        // s3rver checks only expiry, and accepts any X-Amz-Expires or a date far ahead.
        const query = parseRawQuery(new URL(req.url ?? '/', 'http://s3.invalid').search);
        const denial = query.some(([k]) => k === 'X-Amz-Signature') ? checkPresignedDates(query) : null;
        if (denial) refuse(req, res, denial);
        else handle(req, res);
      };
  const server = createServer(listener);
  // Node's 5 s default lets the server drop an idle kept-alive socket just as a client whose event
  // loop was busy (a loaded machine) reuses it, failing the request with ECONNRESET.
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  // A fork that exits without calling stop() still removes the directory (one killed by a signal
  // does not; the folder is then left in the system temp directory).
  const cleanUp = () => rmSync(directory, { recursive: true, force: true });
  process.once('exit', cleanUp);
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      // The minio client keeps connections alive; close() alone would wait for them to idle out.
      server.closeAllConnections();
    }).then(() => {
      s3rver.logger?.close();
      process.off('exit', cleanUp);
      cleanUp();
    }));

  return {
    endPoint: host,
    port,
    useSSL: false,
    accessKey: ACCESS_KEY,
    secretKey: SECRET_KEY,
    region: REGION,
    directory,
    stop,
  };
}

interface Denial {
  code: string;
  message: string;
}

function refuse(req: IncomingMessage, res: ServerResponse, denial: Denial): void {
  const body =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${denial.code}</Code><Message>${denial.message}</Message></Error>`;
  // The request body is not read: close the connection rather than leave it half-consumed.
  res.writeHead(403, { 'content-type': 'application/xml', connection: 'close' });
  res.end(req.method === 'HEAD' ? undefined : body);
}

interface Credentials {
  accessKey: string;
  secretKey: string;
  region: string;
}

const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;
const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

/**
 * Signature V4 check of one request, in the spirit of MinIO's cmd/signature-v4.go: anonymous
 * requests are refused, and both header-signed requests (the minio client) and presigned URLs
 * (workers) must carry a signature computed with the server's secret over this very method,
 * path, query and signed headers. Returns why the request is refused, or null to let it through.
 */
export function checkSignatureV4(req: IncomingMessage, creds: Credentials, now = new Date()): Denial | null {
  const url = new URL(req.url ?? '/', 'http://s3.invalid');
  const query = parseRawQuery(url.search);
  const authorization = req.headers.authorization;
  const presigned = query.some(([k]) => k === 'X-Amz-Signature');
  if (!authorization && !presigned) {
    return { code: 'AccessDenied', message: 'Access Denied.' };
  }
  if (authorization && presigned) {
    return { code: 'InvalidArgument', message: 'Only one auth mechanism allowed.' };
  }

  let credential: string;
  let signedHeaders: string[];
  let signature: string;
  let amzDate: string;
  let payloadHash: string;
  let signedQuery: [string, string][];
  if (presigned) {
    const get = (name: string) => query.find(([k]) => k === name)?.[1];
    const algorithm = get('X-Amz-Algorithm');
    credential = get('X-Amz-Credential') ?? '';
    signedHeaders = (get('X-Amz-SignedHeaders') ?? '').split(';');
    signature = get('X-Amz-Signature') ?? '';
    amzDate = get('X-Amz-Date') ?? '';
    payloadHash = get('X-Amz-Content-Sha256') ?? 'UNSIGNED-PAYLOAD';
    signedQuery = query.filter(([k]) => k !== 'X-Amz-Signature');
    if (algorithm !== 'AWS4-HMAC-SHA256') {
      return { code: 'AuthorizationQueryParametersError', message: 'Unsupported X-Amz-Algorithm.' };
    }
    const dates = checkPresignedDates(query, now);
    if (dates) return dates;
  } else {
    const match =
      /^AWS4-HMAC-SHA256 Credential=([^,]+), ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]+)$/.exec(
        authorization ?? '',
      );
    if (!match) return { code: 'AccessDenied', message: 'Unsupported or malformed Authorization header.' };
    [, credential, , signature] = match;
    signedHeaders = match[2].split(';');
    amzDate = headerValue(req, 'x-amz-date');
    payloadHash = headerValue(req, 'x-amz-content-sha256');
    signedQuery = query;
    const signedAt = parseAmzDate(amzDate);
    if (signedAt === null) return { code: 'AccessDenied', message: 'Malformed X-Amz-Date.' };
    if (Math.abs(now.getTime() - signedAt.getTime()) > MAX_CLOCK_SKEW_MS) {
      return { code: 'RequestTimeTooSkewed', message: 'The request time is too far from the server time.' };
    }
    if (!payloadHash) return { code: 'InvalidRequest', message: 'Missing x-amz-content-sha256.' };
  }

  const [accessKey, day, region, service, terminator, ...rest] = credential.split('/');
  if (accessKey !== creds.accessKey) {
    return { code: 'InvalidAccessKeyId', message: 'The access key ID you provided does not exist.' };
  }
  if (
    rest.length > 0 ||
    day !== amzDate.slice(0, 8) ||
    region !== creds.region ||
    service !== 's3' ||
    terminator !== 'aws4_request'
  ) {
    return { code: 'AuthorizationHeaderMalformed', message: 'Malformed credential scope.' };
  }
  if (!signedHeaders.includes('host')) {
    return { code: 'AccessDenied', message: 'The host header must be signed.' };
  }

  const canonicalRequest = [
    req.method ?? 'GET',
    canonicalPath(url.pathname),
    signedQuery
      .map(([k, v]) => [rfc3986(k), rfc3986(v)])
      .sort(([ka, va], [kb, vb]) => (ka < kb ? -1 : ka > kb ? 1 : va < vb ? -1 : va > vb ? 1 : 0))
      .map(([k, v]) => `${k}=${v}`)
      .join('&'),
    signedHeaders.map((h) => `${h}:${headerValue(req, h)}\n`).join(''),
    signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    amzDate,
    `${day}/${region}/${service}/${terminator}`,
    createHash('sha256').update(canonicalRequest).digest('hex'),
  ].join('\n');
  let key: Buffer = createHmac('sha256', `AWS4${creds.secretKey}`).update(day).digest();
  for (const part of [region, service, terminator]) key = createHmac('sha256', key).update(part).digest();
  const expected = Buffer.from(createHmac('sha256', key).update(stringToSign).digest('hex'));
  const provided = Buffer.from(signature);
  if (provided.length !== expected.length || !timingSafeEqual(provided, expected)) {
    return {
      code: 'SignatureDoesNotMatch',
      message: 'The request signature we calculated does not match the signature you provided.',
    };
  }
  return null;
}

/**
 * The dates of a presigned URL, as MinIO checks them (cmd/signature-v4-parser.go and
 * doesPresignedSignatureMatch): X-Amz-Expires a whole number of seconds from 0 to 7 days, the
 * signing date no more than the clock skew ahead, and not expired. Applied with and without
 * `verifySignatures`, so no test passes with a URL production would refuse. Null: acceptable.
 */
export function checkPresignedDates(query: [string, string][], now = new Date()): Denial | null {
  const get = (name: string) => query.find(([k]) => k === name)?.[1];
  const rawExpires = get('X-Amz-Expires') ?? '';
  const expires = Number(rawExpires);
  if (!/^-?\d+$/.test(rawExpires)) {
    return { code: 'AuthorizationQueryParametersError', message: 'X-Amz-Expires should be a number' };
  }
  if (expires < 0) {
    return { code: 'AuthorizationQueryParametersError', message: 'X-Amz-Expires must be non-negative' };
  }
  if (expires > MAX_PRESIGN_SECONDS) {
    return {
      code: 'AuthorizationQueryParametersError',
      message: `X-Amz-Expires must be less than a week (in seconds) that is; ${MAX_PRESIGN_SECONDS}`,
    };
  }
  const signedAt = parseAmzDate(get('X-Amz-Date') ?? '');
  if (signedAt === null) return { code: 'AccessDenied', message: 'Malformed X-Amz-Date.' };
  if (signedAt.getTime() > now.getTime() + MAX_CLOCK_SKEW_MS) {
    return { code: 'AccessDenied', message: 'Request is not valid yet' };
  }
  if (now.getTime() > signedAt.getTime() + expires * 1000) {
    return { code: 'AccessDenied', message: 'Request has expired' };
  }
  return null;
}

/** Query pairs, percent-decoded, in order (no '+' to space: S3 signs RFC 3986 encoding). */
function parseRawQuery(search: string): [string, string][] {
  return search
    .replace(/^\?/, '')
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const [k, v] = eq < 0 ? [pair, ''] : [pair.slice(0, eq), pair.slice(eq + 1)];
      return [safeDecode(k), safeDecode(v)];
    });
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function rfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** S3's canonical URI: every segment decoded once and re-encoded (slashes kept). */
function canonicalPath(pathname: string): string {
  return pathname
    .split('/')
    .map((segment) => rfc3986(safeDecode(segment)))
    .join('/');
}

function headerValue(req: IncomingMessage, name: string): string {
  const value = req.headers[name.toLowerCase()];
  const joined = Array.isArray(value) ? value.join(',') : (value ?? '');
  return joined.trim().replace(/ +/g, ' ');
}

/** `yyyyMMddTHHmmssZ` -> Date, or null. */
function parseAmzDate(s: string): Date | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return null;
  const [, y, mo, d, h, mi, se] = m.map(Number);
  return new Date(Date.UTC(y, mo - 1, d, h, mi, se));
}
