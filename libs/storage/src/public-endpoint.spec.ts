/**
 * S3_PUBLIC_ENDPOINT: presigned URLs signed for the address sites use, checked end to end against
 * s3rver behind the Signature V4 checker (scripts/local-stack/s3-server.ts) reached through a TCP
 * proxy on another loopback port: the proxy is "the public address" of the same server.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3Server, type S3Server } from '../../../scripts/local-stack/s3-server';
import { startTcpProxy, type TcpProxy } from '../../../scripts/local-stack/tcp-proxy';
import {
  downloadVerified,
  MinioObjectStore,
  parsePublicEndpoint,
  sha256Hex,
  TransferError,
  uploadTo,
} from './index';

describe('parsePublicEndpoint', () => {
  it('reads https://host[:port], with 443 by default', () => {
    expect(parsePublicEndpoint('https://s3.example.org')).toEqual({
      endPoint: 's3.example.org',
      port: 443,
      useSSL: true,
    });
    expect(parsePublicEndpoint(' https://s3.example.org:9443/ ')).toEqual({
      endPoint: 's3.example.org',
      port: 9443,
      useSSL: true,
    });
    expect(parsePublicEndpoint('https://[2001:db8::1]:8443')).toEqual({
      endPoint: '2001:db8::1',
      port: 8443,
      useSSL: true,
    });
  });

  it('allows plain http:// for a loopback host only', () => {
    expect(parsePublicEndpoint('http://127.0.0.1:9000')).toEqual({
      endPoint: '127.0.0.1',
      port: 9000,
      useSSL: false,
    });
    expect(parsePublicEndpoint('http://localhost').port).toBe(80);
    expect(parsePublicEndpoint('http://[::1]:9000').endPoint).toBe('::1');
    expect(() => parsePublicEndpoint('http://s3.example.org')).toThrow(
      /plain http:\/\/ is only allowed for a loopback host/,
    );
    expect(() => parsePublicEndpoint('http://10.0.0.5:9000')).toThrow(/only allowed for a loopback host/);
  });

  it.each([
    ['s3.example.org', /is not a URL/],
    ['ftp://s3.example.org', /unsupported scheme ftp:/],
    ['https://key:secret@s3.example.org', /credentials do not belong/],
    ['https://s3.example.org/minio', /no path allowed/],
    ['https://s3.example.org/?x=1', /no query or fragment/],
  ])('refuses %s, saying what is expected', (value, why) => {
    expect(() => parsePublicEndpoint(value)).toThrow(why);
    expect(() => parsePublicEndpoint(value)).toThrow(/expected https:\/\/host\[:port\]/);
  });

  it('never repeats a password found in the URL', () => {
    expect(() => parsePublicEndpoint('https://key:s3cr3t@s3.example.org')).toThrow(
      '"https://key:***@s3.example.org": credentials do not belong in the URL',
    );
    expect(() => parsePublicEndpoint('https://key:s3cr3t@s3.example.org')).not.toThrow(/s3cr3t/);
  });

  it('the store refuses a bad public endpoint when it is built', () => {
    expect(
      () =>
        new MinioObjectStore({
          endPoint: '127.0.0.1',
          port: 9000,
          useSSL: false,
          accessKey: 'a',
          secretKey: 'b',
          bucket: 'scprivacy',
          publicEndpoint: 'http://s3.example.org',
        }),
    ).toThrow(/publicEndpoint .*only allowed for a loopback host/);
  });
});

describe('MinioObjectStore with a public endpoint', () => {
  const BUCKET = 'scprivacy-public';
  let server: S3Server;
  let proxy: TcpProxy;
  let store: MinioObjectStore;

  const storeFor = (publicEndpoint?: string) =>
    new MinioObjectStore({
      endPoint: server.endPoint,
      port: server.port,
      useSSL: false,
      accessKey: server.accessKey,
      secretKey: server.secretKey,
      region: server.region,
      bucket: BUCKET,
      ...(publicEndpoint ? { publicEndpoint } : {}),
    });

  beforeAll(async () => {
    server = await startS3Server({ verifySignatures: true });
    proxy = await startTcpProxy({ targetPort: server.port });
    store = storeFor(`http://localhost:${proxy.port}`);
    await store.ensureBucket();
  });
  afterAll(async () => {
    await proxy?.stop();
    await server?.stop();
  });

  it('presigns without any request to the public address (the region is given)', async () => {
    // .invalid never resolves (RFC 2606): a GetBucketLocation there would fail the presign.
    const offline = storeFor('https://s3.example.invalid');
    const url = new URL(await offline.presignedGetUrl('k/x.bin', 60));
    expect(url.origin).toBe('https://s3.example.invalid');
    expect(url.pathname).toBe(`/${BUCKET}/k/x.bin`);
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('host');
  });

  it('signs for the public host and port, and the server accepts the URLs through it', async () => {
    const data = randomBytes(4096);
    const put = await store.presignedPutUrl('public/round-1.bin', 60);
    expect(new URL(put).host).toBe(`localhost:${proxy.port}`);
    expect(await uploadTo(put, data)).toEqual({ sha256: sha256Hex(data), bytes: data.length });

    const get = await store.presignedGetUrl('public/round-1.bin', 60);
    expect(new URL(get).host).toBe(`localhost:${proxy.port}`);
    expect((await downloadVerified(get, sha256Hex(data))).equals(data)).toBe(true);
    // The store's own operations still go to the in-cluster address.
    expect(await store.stat('public/round-1.bin')).toEqual({ bytes: data.length });
  });

  it('the signature covers the host: the same URL sent to the in-cluster address is refused', async () => {
    const data = randomBytes(64);
    const stored = await store.putBuffer('public/host-bound.bin', data);
    const get = new URL(await store.presignedGetUrl(stored.key, 60));
    get.host = `${server.endPoint}:${server.port}`;
    const refused = await downloadVerified(get.href, stored.sha256).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TransferError);
    expect((refused as TransferError).status).toBe(403);
    expect((refused as TransferError).code).toBe('SignatureDoesNotMatch');
  });
});
