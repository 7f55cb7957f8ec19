/**
 * Test helpers for the specs that run against the real Redis (REDIS_URL, default
 * 127.0.0.1:6379) shared with other test files: unique names, and clean-up of what a test made.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { institutionQueueName, queueKeyPrefix } from '@fl/platform';
import { redisConnection } from '../connection';
import { loadBullmqScripts } from '../bullmq-scripts';
import { workerRedisConnection } from '../evalsha-only';
import { provisionInstitutionQueueUser, revokeInstitutionQueueUser } from '../acl';
import { parseRedisUrl } from '../redis-url';

export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** An institution name no other test (or run) uses. */
export function uniqueInstitution(tag: string): string {
  return `t-${tag}-${randomBytes(5).toString('hex')}`;
}

/** A connection as the admin (the URL's user, `default` on the test Redis). */
export function adminConnection(connectionName?: string): Redis {
  return redisConnection(TEST_REDIS_URL, { variable: 'REDIS_URL', connectionName });
}

/** The URL of the test Redis with an institution's queue user and password. */
export function institutionUrl(username: string, password: string): string {
  const { host, port, db } = parseRedisUrl(TEST_REDIS_URL);
  return `redis://${encodeURIComponent(username)}:${encodeURIComponent(password)}@${host}:${port}/${db}`;
}

export interface TestInstitution {
  institution: string;
  username: string;
  password: string;
  url: string;
  /** A new connection as the institution's queue user, EVALSHA only as a worker's (closed by cleanup()). */
  connect(connectionName?: string): Redis;
}

/** Provisions the queue user of a fresh institution; cleanup() removes it and its keys. */
export class TestInstitutions {
  private readonly made: string[] = [];
  private readonly connections: Redis[] = [];

  constructor(private readonly admin: Redis) {}

  async create(tag: string): Promise<TestInstitution> {
    const institution = uniqueInstitution(tag);
    const password = randomBytes(24).toString('hex');
    this.made.push(institution);
    const { username } = await provisionInstitutionQueueUser(this.admin, institution, password);
    // What the aggregator does in production: workers may only EVALSHA what the platform loaded.
    await loadBullmqScripts(this.admin);
    const url = institutionUrl(username, password);
    return {
      institution,
      username,
      password,
      url,
      connect: (connectionName?: string) => {
        const connection = workerRedisConnection(url, { variable: 'WORKER_REDIS_URL', connectionName });
        connection.on('error', () => undefined); // expected while users are revoked
        this.connections.push(connection);
        return connection;
      },
    };
  }

  /** Closes the institution connections, deletes the ACL users and every key of their queues. */
  async cleanup(): Promise<void> {
    for (const connection of this.connections.splice(0)) connection.disconnect();
    for (const institution of this.made.splice(0)) {
      await revokeInstitutionQueueUser(this.admin, institution);
      await deleteQueueKeys(this.admin, institution);
    }
  }
}

/** Deletes the keys of an institution's queue (SCAN MATCH on its prefix only). */
export async function deleteQueueKeys(admin: Redis, institution: string): Promise<void> {
  const match = `${queueKeyPrefix(institutionQueueName(institution))}*`;
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', match, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await admin.del(...keys);
  } while (cursor !== '0');
}
