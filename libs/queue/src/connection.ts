/**
 * ioredis connections configured the way BullMQ and a long-running trainer need them.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { parseRedisUrl, redactRedisUrl } from './redis-url';
import { redisTlsOptions } from './redis-tls';

export interface RedisConnectionOptions {
  /** The environment variable the URL came from (named in configuration errors). */
  variable?: string;
  /** CLIENT SETNAME, to recognise the process in CLIENT LIST. */
  connectionName?: string;
  /** Ceiling of the reconnect backoff (default 10 s). */
  maxReconnectDelayMs?: number;
  /** Do not connect until the first command (default false). */
  lazyConnect?: boolean;
  /**
   * PEM CA certificates trusted for a rediss:// URL besides the system roots (the consortium's
   * private CA; readCaBundle of @fl/platform reads them). Refused for a plain redis:// URL.
   */
  ca?: readonly string[];
}

/** Reconnect backoff: 100 ms doubling per attempt, capped, with up to 20 % jitter. */
export function reconnectDelayMs(
  attempt: number,
  maxMs = 10_000,
  random: () => number = Math.random,
): number {
  const base = Math.min(maxMs, 100 * 2 ** Math.min(Math.max(attempt - 1, 0), 16));
  // Jitter spreads the reconnects of many workers after a Redis restart.
  return Math.round(base * (0.8 + 0.2 * random()));
}

/** The ioredis options for a parsed URL (exported so tests can check them without connecting). */
export function redisOptionsFromUrl(url: string, opts: RedisConnectionOptions = {}): RedisOptions {
  const parts = parseRedisUrl(url, opts.variable);
  if (!parts.tls && opts.ca && opts.ca.length > 0) {
    throw new Error(
      `${opts.variable ?? 'REDIS_URL'}=${redactRedisUrl(url)}: a CA for TLS was given but the URL is plain redis://; use rediss://`,
    );
  }
  const maxDelay = opts.maxReconnectDelayMs ?? 10_000;
  return {
    host: parts.host,
    port: parts.port,
    ...(parts.username !== undefined ? { username: parts.username } : {}),
    ...(parts.password !== undefined ? { password: parts.password } : {}),
    db: parts.db,
    // Certificates are always verified (no rejectUnauthorized: false anywhere).
    ...(parts.tls ? { tls: redisTlsOptions(parts.host, opts.ca) } : {}),
    ...(opts.connectionName !== undefined ? { connectionName: opts.connectionName } : {}),
    lazyConnect: opts.lazyConnect ?? false,
    // BullMQ requires null: a command issued while Redis is away waits for the reconnect instead
    // of failing after 20 retries (a Worker refuses a connection without it; see
    // assertBullmqConnection). Callers bound their waits themselves (deadlines).
    maxRetriesPerRequest: null,
    // Keep queueing commands while disconnected, so a Redis restart is invisible to callers.
    enableOfflineQueue: true,
    // Never give up reconnecting: a trainer must outlive a Redis restart or failover.
    retryStrategy: (attempt: number) => reconnectDelayMs(attempt, maxDelay),
    // After a failover the old primary answers READONLY: reconnect and resend the command.
    reconnectOnError: (err: Error) => (err.message.startsWith('READONLY') ? 2 : false),
    // The ready check (INFO) waits out a restarting Redis that is still loading its dataset.
    enableReadyCheck: true,
    // CLIENT SETINFO is not in the institution ACL (nor in Redis < 7.2); skip it rather than
    // collect a denied command in the ACL log at every connect.
    disableClientInfo: true,
  };
}

/** An ioredis connection from a redis:// URL (user:password@host:port/db), ready for BullMQ. */
export function redisConnection(url: string, opts: RedisConnectionOptions = {}): Redis {
  return new Redis(redisOptionsFromUrl(url, opts));
}

/**
 * BullMQ duplicates the connection for its blocking commands and throws, deep inside a Worker
 * or QueueEvents, if `maxRetriesPerRequest` is not null; fail early with a clearer message.
 */
export function assertBullmqConnection(connection: Redis, who: string): void {
  if (connection.options.maxRetriesPerRequest !== null) {
    throw new Error(`${who}: the Redis connection needs maxRetriesPerRequest: null (use redisConnection())`);
  }
  if (connection.options.keyPrefix) {
    throw new Error(`${who}: the Redis connection must not set keyPrefix (queues use the "scp" prefix)`);
  }
}
