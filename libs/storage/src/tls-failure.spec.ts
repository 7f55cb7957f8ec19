/**
 * tlsFailure on the errors Node really raises (a TLS server with a certificate of a CA made here),
 * not on hand-made error objects: the codes are Node's and OpenSSL's, and may change with them.
 */
import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { connect, createServer as createTlsServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalCa, type LocalCa } from '../../../scripts/local-stack/local-ca';
import { explainTlsFailure, fetchFailureDetail, HTTPS_TRUST_ADVICE, tlsFailure } from './tls-failure';

const sockets = new Set<Socket>();

async function listen(server: Server): Promise<number> {
  // Tracked so that closing does not wait for the connections a failed handshake left open.
  server.on('connection', (s: Socket) => sockets.add(s.once('close', () => sockets.delete(s))));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** The error of a TLS connection to 127.0.0.1:port (undefined if it succeeds). */
async function tlsError(port: number, opts: { servername?: string; ca?: string[] } = {}) {
  return new Promise<Error | undefined>((resolve) => {
    const socket = connect({
      host: '127.0.0.1',
      port,
      servername: opts.servername ?? 'localhost',
      ca: opts.ca,
    });
    socket.once('secureConnect', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once('error', resolve);
  });
}

describe('tlsFailure', () => {
  let ca: LocalCa;
  const servers: Server[] = [];
  let good: number;
  let expired: number;
  let plain: number;

  beforeAll(async () => {
    ca = createLocalCa();
    const tlsServer = (cert: { certificatePem: string; keyPem: string }) => {
      const s = createTlsServer({ cert: cert.certificatePem, key: cert.keyPem }, (c) => c.end());
      s.on('tlsClientError', () => undefined);
      servers.push(s);
      return listen(s);
    };
    good = await tlsServer(ca.issueServer(['localhost', '127.0.0.1']));
    expired = await tlsServer(ca.issueServer(['localhost'], { expired: true }));
    const text = createTcpServer((c) => c.end('+OK not TLS\r\n'));
    servers.push(text);
    plain = await listen(text);
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  });

  it('is undefined for a connection that verifies, and for non-TLS errors', async () => {
    expect(await tlsError(good, { ca: [ca.certificatePem] })).toBeUndefined();
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(tlsFailure(refused)).toBeUndefined();
    expect(tlsFailure('not an error')).toBeUndefined();
  });

  it('a certificate from a CA the client does not trust is "untrusted", with the advice given', async () => {
    const failure = tlsFailure(await tlsError(good));
    expect(failure?.kind).toBe('untrusted');
    expect(explainTlsFailure(failure!, 'set X_CA_FILE')).toMatch(/certificate.*: set X_CA_FILE$/);
  });

  it('a certificate for another name is "wrong-name"', async () => {
    const failure = tlsFailure(
      await tlsError(good, { servername: 'redis.example.org', ca: [ca.certificatePem] }),
    );
    expect(failure).toMatchObject({ kind: 'wrong-name', code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    expect(explainTlsFailure(failure!, '')).toMatch(/redis\.example\.org.*: connect with a host name/);
  });

  it('an expired certificate is "expired"', async () => {
    const failure = tlsFailure(await tlsError(expired, { ca: [ca.certificatePem] }));
    expect(failure).toMatchObject({ kind: 'expired', code: 'CERT_HAS_EXPIRED' });
    expect(explainTlsFailure(failure!, '')).toMatch(/must be renewed/);
  });

  it('a server that does not speak TLS is "not-tls"', async () => {
    const failure = tlsFailure(await tlsError(plain));
    expect(failure).toMatchObject({ kind: 'not-tls', code: 'ERR_SSL_WRONG_VERSION_NUMBER' });
    expect(explainTlsFailure(failure!, '')).toMatch(/does not speak TLS on this port/);
  });

  it('fetch\'s "fetch failed" is explained from its cause', async () => {
    const untrusted = await fetch(`https://localhost:${good}/`).catch((e: unknown) => e);
    expect((untrusted as Error).message).toBe('fetch failed');
    expect(fetchFailureDetail(untrusted, HTTPS_TRUST_ADVICE)).toMatch(
      /certificate.*: set NODE_EXTRA_CA_CERTS to the PEM file of the CA/,
    );
    const closed = createTcpServer();
    const port = await listen(closed);
    await new Promise((r) => closed.close(r));
    const refused = await fetch(`http://127.0.0.1:${port}/`).catch((e: unknown) => e);
    expect(fetchFailureDetail(refused, HTTPS_TRUST_ADVICE)).toMatch(/^fetch failed: connect ECONNREFUSED/);
  });
});
