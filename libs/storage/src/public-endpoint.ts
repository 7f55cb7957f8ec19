import { isIP } from 'node:net';

/**
 * The object store's public address (S3_PUBLIC_ENDPOINT): where workers outside the consortium's
 * cluster reach it, through a load balancer or an ingress that terminates TLS. Presigned URLs
 * are signed for the host (and port) they name, so they must be made for this address, not for
 * the in-cluster one the api and the aggregator use.
 */
export interface S3Endpoint {
  endPoint: string;
  port: number;
  useSSL: boolean;
}

const EXPECTED = 'expected https://host[:port] (http:// only for a loopback address)';

/**
 * Parses `https://host[:port]` (http:// is allowed only for a loopback host: presigned URLs are
 * capabilities and must not travel in clear text between sites). Throws an Error whose message
 * says what is wrong; the caller prefixes the variable's name.
 */
export function parsePublicEndpoint(value: string): S3Endpoint {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new Error(`"${value}" is not a URL: ${EXPECTED}`);
  }
  // A misplaced secret key in the URL must not reach the logs.
  const shown = url.password === '' ? value.trim() : value.trim().replace(`:${url.password}@`, ':***@');
  const fail = (why: string): never => {
    throw new Error(`"${shown}": ${why}; ${EXPECTED}`);
  };
  if (url.protocol !== 'https:' && url.protocol !== 'http:') fail(`unsupported scheme ${url.protocol}`);
  if (url.username !== '' || url.password !== '') fail('credentials do not belong in the URL');
  // The minio client signs path-style URLs from the root: a path prefix would break every signature.
  if (url.pathname !== '/' && url.pathname !== '') fail('no path allowed (the store must be served at /)');
  if (url.search !== '' || url.hash !== '') fail('no query or fragment allowed');
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (url.protocol === 'http:' && !isLoopback(host)) {
    fail('plain http:// is only allowed for a loopback host (presigned URLs are capabilities)');
  }
  const useSSL = url.protocol === 'https:';
  return { endPoint: host, port: url.port === '' ? (useSSL ? 443 : 80) : Number(url.port), useSSL };
}

function isLoopback(host: string): boolean {
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}
