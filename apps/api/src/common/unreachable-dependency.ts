/**
 * Tells a failure to reach one of the api's dependencies (Postgres, Redis, the object store) from
 * every other error, so it can be answered 503 "try again later" instead of 500 "a bug". Only
 * connection-level failures count: a constraint violation, a missing object or a refused
 * signature are not outages and keep their own handling.
 */

export type Dependency = 'Postgres' | 'Redis' | 'the object store' | 'a service the api depends on';

/** The ports the api dials, so a bare socket error (no library wrapper) can be attributed. */
export interface DependencyPorts {
  postgres?: number;
  redis?: number;
  objectStore?: number;
}

/** Prisma's connection-level codes: can't reach, timed out reaching, server closed the connection, pool timeout. */
const PRISMA_CONNECTION_CODES = new Set(['P1001', 'P1002', 'P1017', 'P2024']);
/** @prisma/adapter-pg's kinds for a socket that failed (see its mapSocketError). */
const ADAPTER_CONNECTION_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout']);
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);
/** S3 error codes of a server-side (5xx) failure; minio-js maps a bare 503 to SlowDown. */
const S3_UNAVAILABLE_CODES = new Set([
  'InternalError',
  'ServiceUnavailable',
  'SlowDown',
  'XMinioServerNotInitialized',
]);

type Fields = {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  port?: unknown;
  clientVersion?: unknown;
  status?: unknown;
  cause?: unknown;
  errors?: unknown;
  meta?: { driverAdapterError?: unknown };
};

/** The error and what it wraps (cause, AggregateError members, Prisma's driver error), bounded. */
function* chain(error: unknown, depth = 0): Generator<Fields> {
  if (depth > 5 || error === null || typeof error !== 'object') return;
  const e = error as Fields;
  yield e;
  yield* chain(e.cause, depth + 1);
  yield* chain(e.meta?.driverAdapterError, depth + 1);
  if (Array.isArray(e.errors)) for (const member of e.errors.slice(0, 4)) yield* chain(member, depth + 1);
}

function byPort(port: unknown, ports: DependencyPorts): Dependency | undefined {
  if (typeof port !== 'number') return undefined;
  if (port === ports.postgres) return 'Postgres';
  if (port === ports.redis) return 'Redis';
  if (port === ports.objectStore) return 'the object store';
  return undefined;
}

function classifyOne(e: Fields, ports: DependencyPorts): Dependency | undefined {
  const name = typeof e.name === 'string' ? e.name : '';
  const code = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? e.message : '';
  // Prisma: the client could not start, or a query met a connection-level failure.
  if (name === 'PrismaClientInitializationError') return 'Postgres';
  if (name === 'PrismaClientKnownRequestError' && PRISMA_CONNECTION_CODES.has(code)) return 'Postgres';
  if (name === 'DriverAdapterError') {
    const kind = (e.cause as { kind?: unknown } | undefined)?.kind;
    if (typeof kind === 'string' && ADAPTER_CONNECTION_KINDS.has(kind)) return 'Postgres';
  }
  // A pg error Prisma passed through as is (it adds clientVersion): a dropped pooled connection.
  if (e.clientVersion !== undefined && (SOCKET_CODES.has(code) || /^Connection terminated/.test(message)))
    return 'Postgres';
  // ioredis: commands failing while the connection is down.
  if (name === 'MaxRetriesPerRequestError') return 'Redis';
  if (/^Connection is closed\.?$/.test(message) || /^Stream isn't writeable/.test(message)) return 'Redis';
  // The object store answered, but with a server-side failure.
  if (name === 'S3Error' && S3_UNAVAILABLE_CODES.has(code)) return 'the object store';
  if (name === 'TransferError' && (e.status === null || (typeof e.status === 'number' && e.status >= 500)))
    return 'the object store';
  // A bare socket error: attributed by the port it dialled.
  if (SOCKET_CODES.has(code)) return byPort(e.port, ports) ?? 'a service the api depends on';
  return undefined;
}

/** Which dependency `error` says is unreachable, or undefined for any other error. */
export function unreachableDependency(error: unknown, ports: DependencyPorts): Dependency | undefined {
  let fallback: Dependency | undefined;
  for (const e of chain(error)) {
    const found = classifyOne(e, ports);
    if (found && found !== 'a service the api depends on') return found;
    fallback ??= found;
  }
  return fallback;
}

/** The ports of the configured connection strings (their protocol defaults when not given). */
export function dependencyPorts(config: {
  databaseUrl: string;
  redisUrl: string;
  s3: { port: number };
}): DependencyPorts {
  const port = (url: string, fallback: number) => {
    try {
      return Number(new URL(url).port || fallback);
    } catch {
      return undefined;
    }
  };
  return {
    postgres: port(config.databaseUrl, 5432),
    redis: port(config.redisUrl, 6379),
    objectStore: config.s3.port,
  };
}
