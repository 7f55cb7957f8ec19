/**
 * rediss:// connections: the TLS options, and what to tell the operator when TLS fails. A site's
 * worker reaches the consortium's Redis across the internet; its certificate usually comes from
 * the consortium's private CA, given as a PEM file (WORKER_REDIS_CA_FILE, REDIS_CA_FILE).
 * Certificate verification is always on: there is no option to turn it off.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { rootCertificates, type ConnectionOptions } from 'node:tls';
import { explainTlsFailure, tlsFailure } from '@fl/storage';
import { parseRedisUrl } from './redis-url';

/**
 * TLS options for a rediss:// connection to `host`. Without `ca`, Node's default trust store
 * (system roots and NODE_EXTRA_CA_CERTS); with it, those plus `ca`: Node drops both defaults as
 * soon as `ca` is given, so they are added back here.
 */
export function redisTlsOptions(host: string, ca?: readonly string[]): ConnectionOptions {
  return {
    // SNI carries host names only (RFC 6066; Node warns on an IP). Without servername Node still
    // checks the certificate against the host it dialled.
    ...(isIP(host) === 0 ? { servername: host } : {}),
    ...(ca && ca.length > 0 ? { ca: [...rootCertificates, ...nodeExtraCaCertificates(), ...ca] } : {}),
  };
}

let extraCa: string[] | undefined;

/** The certificates of NODE_EXTRA_CA_CERTS (Node has read and reported that file itself). */
function nodeExtraCaCertificates(): string[] {
  if (extraCa) return extraCa;
  const file = process.env.NODE_EXTRA_CA_CERTS;
  let text = '';
  try {
    text = file ? readFileSync(file, 'utf8') : '';
  } catch {
    // Node already warned at start-up that it could not read it; it trusts nothing from it either.
  }
  extraCa = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return extraCa;
}

export interface RedisTlsContext {
  /** The variable holding the URL (WORKER_REDIS_URL, REDIS_URL). */
  variable: string;
  url: string;
  /** The variable naming the CA file (WORKER_REDIS_CA_FILE, REDIS_CA_FILE). */
  caVariable: string;
  /** Whether a CA file was given (changes the advice). */
  caGiven: boolean;
}

/**
 * A one-line explanation of a connection error that retrying will not fix — the server's
 * certificate does not verify, the port does not speak TLS, the server wants a client
 * certificate — naming the URL's host and port (never its password); undefined for any other
 * error, a TLS handshake error that may be transient included. For errors that may come from
 * the wrong port, see redisConnectHint.
 */
export function redisTlsFailure(error: unknown, ctx: RedisTlsContext): string | undefined {
  const failure = tlsFailure(error);
  if (!failure || failure.kind === 'handshake') return undefined;
  const { host, port } = parseRedisUrl(ctx.url, ctx.variable);
  if (failure.kind === 'client-certificate') {
    return (
      `${ctx.variable}: TLS to Redis at ${host}:${port} failed: ${failure.reason}: Redis asks for client ` +
      'certificates; sites connect without one (the consortium sets tls-auth-clients no or optional)'
    );
  }
  const advice = ctx.caGiven
    ? `is ${ctx.caVariable} the CA that signed the Redis server's certificate?`
    : `set ${ctx.caVariable} to the PEM file of the consortium's Redis CA`;
  return `${ctx.variable}: TLS to Redis at ${host}:${port} failed: ${explainTlsFailure(failure, advice)}`;
}

/**
 * A hint for a connection error that may come from the wrong port: a Redis TLS port (tls-port)
 * answers a plain redis:// client by closing the connection at once, while Redis' plain port
 * waits silently for the end of what it takes for a command when a rediss:// client sends its
 * TLS hello, until the client's connect timeout. Undefined for other errors. Not a reason to
 * stop: a reset or a timeout can also be the network's.
 */
export function redisConnectHint(error: unknown, ctx: { variable: string; url: string }): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  const { host, port, tls } = parseRedisUrl(ctx.url, ctx.variable);
  if (!tls && code === 'ECONNRESET') {
    return (
      `${ctx.variable}: Redis at ${host}:${port} closed the connection at once: ` +
      'if that is its TLS port, the URL must start with rediss://'
    );
  }
  if (tls && code === 'ETIMEDOUT') {
    return (
      `${ctx.variable}: no TLS handshake from ${host}:${port} in time: ` +
      "check that it is Redis' TLS port (tls-port), not its plain port, and that no firewall drops the packets"
    );
  }
  return undefined;
}
