import {
  connect,
  createServer as createTcpServer,
  type AddressInfo,
  type Server,
  type Socket,
} from 'node:net';
import { createServer as createTlsServer } from 'node:tls';

/**
 * A tiny TCP proxy on a loopback port in front of another loopback port, optionally terminating
 * TLS: the stand-in for the load balancer or ingress through which sites reach the consortium's
 * API and object store (another host name and port, HTTPS with the consortium's certificate).
 * Bytes pass unchanged, the Host header included, so a presigned URL signed for the proxy's
 * address verifies at the server behind it.
 */

export interface TcpProxyOptions {
  /** The port on 127.0.0.1 to forward to. */
  targetPort: number;
  /** Terminate TLS with this certificate and key (PEM); plain TCP without. */
  tls?: { certificatePem: string; keyPem: string };
}

export interface TcpProxy {
  port: number;
  /** Connections forwarded so far (after the TLS handshake, when terminating TLS). */
  connections(): number;
  /** Closes the listener and every forwarded connection. */
  stop(): Promise<void>;
}

export async function startTcpProxy(opts: TcpProxyOptions): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let forwarded = 0;
  const forward = (client: Socket) => {
    forwarded++;
    const upstream = connect(opts.targetPort, '127.0.0.1');
    open.add(client).add(upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    client.pipe(upstream).pipe(client);
  };
  const server: Server = opts.tls
    ? createTlsServer({ cert: opts.tls.certificatePem, key: opts.tls.keyPem }, forward)
    : createTcpServer(forward);
  // A client that gives up on the handshake (an untrusted certificate) must not crash the proxy.
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => forwarded,
    stop: async () => {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
