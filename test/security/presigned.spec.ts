import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MinioObjectStore } from '@fl/storage';
import { startS3Server, type S3Server } from '../../scripts/local-stack/s3-server';
import { presign } from './support/presign';

/**
 * Presigned URLs are the only way a worker reaches the object store (it holds no credentials):
 * one URL, one object, one method, for a limited time. Against the test S3 server in its
 * MinIO-like mode (every Signature V4 checked), with URLs made by the platform's own store code
 * (what the aggregator hands to workers) and by a presigner that can make the hostile ones.
 */

let s3: S3Server;
let store: MinioObjectStore;
const bucket = 'scprivacy';
const mine = 'institutions/hospital-a/datasets/d1/ref.csv';
const theirs = 'institutions/hospital-b/datasets/d2/ref.csv';
const secretBytes = Buffer.from('hospital-b reference data');
let endpoint: string;
let mineSha: string;
let theirsSha: string;

const sign = (over: Partial<Parameters<typeof presign>[0]> = {}) =>
  presign({
    method: 'GET',
    endpoint,
    bucket,
    key: mine,
    accessKey: s3.accessKey,
    secretKey: s3.secretKey,
    ...over,
  });

const HOUR = 3600;
const DAY = 24 * HOUR;

beforeAll(async () => {
  s3 = await startS3Server({ verifySignatures: true });
  endpoint = `http://${s3.endPoint}:${s3.port}`;
  store = new MinioObjectStore({ ...s3, bucket });
  await store.ensureBucket();
  mineSha = (await store.putBuffer(mine, Buffer.from('hospital-a reference data'))).sha256;
  theirsSha = (await store.putBuffer(theirs, secretBytes)).sha256;
});

afterAll(async () => {
  await s3?.stop();
});

async function statusOf(url: string, init: RequestInit = {}): Promise<number> {
  const res = await fetch(url, init);
  await res.arrayBuffer();
  return res.status;
}

describe('the URLs the platform hands out work for exactly their object', () => {
  it('a presigned GET reads its object', async () => {
    const url = await store.presignedGetUrl(mine, 600);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('hospital-a reference data');
  });
  it('a presigned PUT writes its object', async () => {
    const key = `models/${randomBytes(4).toString('hex')}/weights.bin`;
    const url = await store.presignedPutUrl(key, 600);
    expect(await statusOf(url, { method: 'PUT', body: 'w' })).toBe(200);
  });
  it('the platform refuses to make a URL valid for more than 7 days', async () => {
    await expect(store.presignedGetUrl(mine, 7 * DAY + 1)).rejects.toThrow();
  });
});

describe('tampered and stolen URLs: 403', () => {
  const edits: [string, (url: string) => string, RequestInit?][] = [
    [
      'one hex digit of the signature changed',
      (u) =>
        u.replace(
          /X-Amz-Signature=([0-9a-f])/,
          (_m, c: string) => `X-Amz-Signature=${c === '0' ? '1' : '0'}`,
        ),
    ],
    ['the signature removed', (u) => u.replace(/&?X-Amz-Signature=[0-9a-f]+/, '')],
    ['the signature emptied', (u) => u.replace(/X-Amz-Signature=[0-9a-f]+/, 'X-Amz-Signature=')],
    ["the object key changed to another institution's", (u) => u.replace(mine.split('/').join('/'), theirs)],
    ['the object key changed by one character', (u) => u.replace('ref.csv', 'ref.csw')],
    [
      'a ../ walk to another institution (percent-encoded)',
      (u) => u.replace('hospital-a/datasets', 'hospital-a/%2E%2E/hospital-b/datasets'),
    ],
    ['the bucket changed', (u) => u.replace(`/${bucket}/`, '/other-bucket/')],
    ['the expiry raised in the URL', (u) => u.replace(/X-Amz-Expires=\d+/, 'X-Amz-Expires=604800')],
    ['the date moved in the URL', (u) => u.replace(/X-Amz-Date=(\d{8})/, 'X-Amz-Date=20990101')],
    ['a query parameter added (response-content-type)', (u) => `${u}&response-content-type=text%2Fhtml`],
    [
      'the credential scope given another access key',
      (u) => u.replace(/X-Amz-Credential=[^%&]+/, 'X-Amz-Credential=OTHERKEY'),
    ],
    ['a GET URL used to PUT', (u) => u, { method: 'PUT', body: 'overwritten' }],
    ['a GET URL used to DELETE', (u) => u, { method: 'DELETE' }],
  ];
  it.each(edits)('%s', async (_label, edit, init) => {
    const url = edit(await store.presignedGetUrl(mine, 600));
    expect(await statusOf(url, init)).toBe(403);
    // Nothing was changed behind the refusal.
    expect((await store.getBuffer(mine, mineSha)).toString()).toBe('hospital-a reference data');
    expect((await store.getBuffer(theirs, theirsSha)).equals(secretBytes)).toBe(true);
  });
  it('a PUT URL used to write another key', async () => {
    const url = (await store.presignedPutUrl(mine, 600)).replace(mine, theirs);
    expect(await statusOf(url, { method: 'PUT', body: 'forged' })).toBe(403);
    expect((await store.getBuffer(theirs, theirsSha)).equals(secretBytes)).toBe(true);
  });
  it('a PUT URL used to read', async () => {
    const url = await store.presignedPutUrl(theirs, 600);
    expect(await statusOf(url)).toBe(403);
  });
  it('an anonymous request (no signature at all)', async () => {
    expect(await statusOf(`${endpoint}/${bucket}/${theirs}`)).toBe(403);
  });
  it('an anonymous bucket listing', async () => {
    expect(await statusOf(`${endpoint}/${bucket}?list-type=2`)).toBe(403);
  });
});

describe('time limits', () => {
  it('an expired URL (signed 2 h ago for 1 h)', async () => {
    expect(await statusOf(sign({ date: new Date(Date.now() - 2 * HOUR * 1000), expiresSeconds: HOUR }))).toBe(
      403,
    );
  });
  it('a URL that expired one second ago', async () => {
    const url = await store.presignedGetUrl(mine, 1);
    await new Promise((r) => setTimeout(r, 2100));
    expect(await statusOf(url)).toBe(403);
  });
  it.each([
    ['X-Amz-Expires of 7 days and 1 second', 7 * DAY + 1],
    ['X-Amz-Expires of 30 days', 30 * DAY],
    ['X-Amz-Expires of 0', 0],
    ['a negative X-Amz-Expires', -60],
    ['a fractional X-Amz-Expires', '60.5'],
    ['a non-numeric X-Amz-Expires', 'forever'],
  ] as const)('%s, correctly signed: refused', async (_l, expiresSeconds) => {
    expect(await statusOf(sign({ expiresSeconds }))).toBe(403);
  });
  it('a URL dated 30 days ahead (valid "from then on"), correctly signed: refused', async () => {
    expect(await statusOf(sign({ date: new Date(Date.now() + 30 * DAY * 1000), expiresSeconds: HOUR }))).toBe(
      403,
    );
  });
  it('a URL signed for exactly 7 days is accepted (the limit itself)', async () => {
    expect(await statusOf(sign({ expiresSeconds: 7 * DAY }))).toBe(200);
  });
});

describe('forged signatures', () => {
  it.each([
    ['signed with another secret key', { secretKey: 'not-the-secret' }],
    ['signed with another access key', { accessKey: 'SOMEONE' }],
    ['signed for another region', { region: 'eu-west-1' }],
  ] as const)('%s: 403', async (_l, over) => {
    expect(await statusOf(sign(over))).toBe(403);
  });
  it('a header-signed request dated 20 minutes ago: 403 (clock skew)', async () => {
    // What a replayed minio-client request looks like: Authorization header with a stale date.
    const stale = new Date(Date.now() - 20 * 60_000)
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '');
    const res = await fetch(`${endpoint}/${bucket}/${theirs}`, {
      headers: {
        authorization: `AWS4-HMAC-SHA256 Credential=${s3.accessKey}/${stale.slice(0, 8)}/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`,
        'x-amz-date': stale,
        'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
      },
    });
    await res.arrayBuffer();
    expect(res.status).toBe(403);
  });
});
