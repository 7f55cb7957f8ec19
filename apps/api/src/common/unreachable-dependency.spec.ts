import { describe, expect, it } from 'vitest';
import { dependencyPorts, unreachableDependency } from './unreachable-dependency';

const ports = dependencyPorts({
  databaseUrl: 'postgresql://u@127.0.0.1:6543/db',
  redisUrl: 'redis://127.0.0.1:6380',
  s3: { port: 9100 },
});
const named = (name: string, props: Record<string, unknown> = {}, message = '') =>
  Object.assign(new Error(message), { name, ...props });
const socket = (code: string, port?: number) => Object.assign(new Error(`connect ${code}`), { code, port });

describe('unreachableDependency', () => {
  it.each([
    ['Prisma P1001', named('PrismaClientKnownRequestError', { code: 'P1001' }), 'Postgres'],
    ['Prisma P1017', named('PrismaClientKnownRequestError', { code: 'P1017' }), 'Postgres'],
    ['Prisma could not start', named('PrismaClientInitializationError'), 'Postgres'],
    [
      'a pooled pg connection dropped (passed through by Prisma)',
      Object.assign(new Error('Connection terminated unexpectedly'), { clientVersion: '7' }),
      'Postgres',
    ],
    ['ECONNREFUSED on the object store port', socket('ECONNREFUSED', 9100), 'the object store'],
    ['ECONNRESET on the Postgres port', socket('ECONNRESET', 6543), 'Postgres'],
    ['ETIMEDOUT on the Redis port', socket('ETIMEDOUT', 6380), 'Redis'],
    [
      'ECONNREFUSED wrapped as a cause',
      new Error('upload failed', { cause: socket('ECONNREFUSED', 9100) }),
      'the object store',
    ],
    [
      'AggregateError of refusals',
      Object.assign(new AggregateError([socket('ECONNREFUSED', 6380)]), { code: 'ECONNREFUSED' }),
      'Redis',
    ],
    ['a socket error on an unknown port', socket('ECONNREFUSED', 1), 'a service the api depends on'],
    ['S3 503 (minio: SlowDown)', named('S3Error', { code: 'SlowDown' }), 'the object store'],
    ['S3 InternalError', named('S3Error', { code: 'InternalError' }), 'the object store'],
    ['ioredis MaxRetriesPerRequestError', named('MaxRetriesPerRequestError'), 'Redis'],
    ['ioredis connection closed', new Error('Connection is closed.'), 'Redis'],
  ])('%s -> %s', (_label, error, expected) => {
    expect(unreachableDependency(error, ports)).toBe(expected);
  });

  it.each([
    ['a unique violation', named('PrismaClientKnownRequestError', { code: 'P2002' })],
    ['a missing object', named('S3Error', { code: 'NoSuchKey' })],
    ['a refused signature', named('S3Error', { code: 'SignatureDoesNotMatch' })],
    ['a plain bug', new TypeError('x is undefined')],
    ['a string thrown', 'boom'],
  ])('%s is not an outage', (_label, error) => {
    expect(unreachableDependency(error, ports)).toBeUndefined();
  });
});
