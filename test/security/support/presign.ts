import { createHash, createHmac } from 'node:crypto';

/**
 * A Signature V4 presigner with every knob exposed (date, expiry, credentials), so the suite can
 * make the URLs an attacker would: signed far ahead, for longer than 7 days, with another secret.
 * The minio client refuses to make most of these, which is why it is not used here.
 */
export interface PresignOptions {
  method: 'GET' | 'PUT' | 'DELETE' | 'HEAD';
  endpoint: string; // http://127.0.0.1:port
  bucket: string;
  key: string;
  accessKey: string;
  secretKey: string;
  region?: string;
  date?: Date;
  expiresSeconds?: number | string;
  extraQuery?: Record<string, string>;
}

const enc = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function amzDate(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

export function presign(o: PresignOptions): string {
  const region = o.region ?? 'us-east-1';
  const date = amzDate(o.date ?? new Date());
  const day = date.slice(0, 8);
  const host = new URL(o.endpoint).host;
  const path = `/${o.bucket}/${o.key.split('/').map(enc).join('/')}`;
  const query: Record<string, string> = {
    'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    'X-Amz-Credential': `${o.accessKey}/${day}/${region}/s3/aws4_request`,
    'X-Amz-Date': date,
    'X-Amz-Expires': String(o.expiresSeconds ?? 300),
    'X-Amz-SignedHeaders': 'host',
    ...o.extraQuery,
  };
  const canonicalQuery = Object.keys(query)
    .sort()
    .map((k) => `${enc(k)}=${enc(query[k])}`)
    .join('&');
  const canonicalRequest = [
    o.method,
    path,
    canonicalQuery,
    `host:${host}\n`,
    'host',
    'UNSIGNED-PAYLOAD',
  ].join('\n');
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    date,
    `${day}/${region}/s3/aws4_request`,
    createHash('sha256').update(canonicalRequest).digest('hex'),
  ].join('\n');
  let key: Buffer = createHmac('sha256', `AWS4${o.secretKey}`).update(day).digest();
  for (const part of [region, 's3', 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
  const signature = createHmac('sha256', key).update(stringToSign).digest('hex');
  return `${o.endpoint}${path}?${canonicalQuery}&X-Amz-Signature=${signature}`;
}
