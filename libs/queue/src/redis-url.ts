/**
 * Parses the Redis URL a process is configured with (REDIS_URL, WORKER_REDIS_URL, ...).
 * Misconfiguration is reported naming the variable, never echoing the password: these URLs
 * carry an institution's queue credentials and error messages end up in logs.
 */

export interface RedisUrlParts {
  host: string;
  port: number;
  /** ACL user (absent: the `default` user). */
  username?: string;
  password?: string;
  /** Logical database (SELECT); 0 unless the URL has a /<db> path. */
  db: number;
  /** rediss:// connects over TLS. */
  tls: boolean;
}

const EXPECTED = 'expected redis://[user[:password]@]host[:port][/db] (or rediss:// for TLS)';

/** Parses `url`; `variable` names where it came from, for the error message. */
export function parseRedisUrl(url: string | undefined, variable = 'REDIS_URL'): RedisUrlParts {
  if (url === undefined || url.trim() === '') {
    throw new Error(`${variable} is not set: ${EXPECTED}`);
  }
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    // The raw value may hold a password: do not repeat it.
    throw new Error(`${variable} is not a valid URL: ${EXPECTED}`);
  }
  const shown = redactRedisUrl(parsed);
  const fail = (why: string): never => {
    throw new Error(`${variable}=${shown}: ${why}; ${EXPECTED}`);
  };
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    fail(`unsupported scheme "${parsed.protocol}"`);
  }
  if (parsed.hostname === '') fail('no host');
  if (parsed.search !== '' || parsed.hash !== '') fail('query parameters and fragments are not supported');

  const port = parsed.port === '' ? 6379 : Number(parsed.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`bad port "${parsed.port}"`);

  const path = parsed.pathname.replace(/^\/+/, '');
  if (path !== '' && !/^\d{1,5}$/.test(path)) fail(`bad database "${path}" (expected a number)`);
  const db = path === '' ? 0 : Number(path);

  const username = parsed.username === '' ? undefined : decodeURIComponent(parsed.username);
  const password = parsed.password === '' ? undefined : decodeURIComponent(parsed.password);
  return {
    // URL keeps IPv6 literals bracketed; sockets want them bare.
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port,
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    db,
    tls: parsed.protocol === 'rediss:',
  };
}

/** The URL with its password replaced by `***`, for logs and error messages. */
export function redactRedisUrl(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = new URL(typeof url === 'string' ? url : url.href);
  } catch {
    return '<invalid url>';
  }
  if (parsed.password !== '') parsed.password = '***';
  return parsed.href;
}
