import { ANNOTATION_QUEUE, CONTROL_QUEUE, institutionQueueName, queueKeyPrefix } from '@fl/platform';
import { redisConnection, revokeInstitutionQueueUser } from '@fl/queue';

export interface RedisCleanupReport {
  usersRemoved: number;
  keysRemoved: number;
}

/**
 * Leaves a Redis the stack did not start (the machine's, `npm run stack --redis`) as it found it:
 * deletes the queue users of the stack's institutions and every key of the queues the stack used
 * (its institutions' training queues, the federation-control and annotation queues). Keys are
 * found with SCAN, never KEYS, and removed with UNLINK in batches, so a large queue does not block
 * Redis.
 */
export async function removeStackQueueState(
  redisUrl: string,
  institutions: readonly string[],
): Promise<RedisCleanupReport> {
  const redis = redisConnection(redisUrl, { connectionName: 'scprivacy-stack-cleanup' });
  try {
    let usersRemoved = 0;
    for (const name of institutions) {
      if (await revokeInstitutionQueueUser(redis, name)) usersRemoved += 1;
    }
    const queues = [...institutions.map(institutionQueueName), CONTROL_QUEUE, ANNOTATION_QUEUE];
    let keysRemoved = 0;
    for (const queue of queues) keysRemoved += await unlinkMatching(redis, `${queueKeyPrefix(queue)}*`);
    return { usersRemoved, keysRemoved };
  } finally {
    redis.disconnect();
  }
}

async function unlinkMatching(redis: ReturnType<typeof redisConnection>, pattern: string): Promise<number> {
  let removed = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) removed += await redis.unlink(...keys);
  } while (cursor !== '0');
  return removed;
}
