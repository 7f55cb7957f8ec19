/**
 * Redis ACL users of the institutions' trainer workers: each may run the commands a BullMQ
 * worker needs (worker-commands.ts), on the keys of its own queue only.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { institutionQueueName, institutionQueueUser, queueKeyPrefix } from '@fl/platform';
import { INSTITUTION_QUEUE_COMMANDS } from './worker-commands';

export interface AclRuleOptions {
  /** The logical database the worker uses; other than 0 it must be allowed to SELECT it. */
  db?: number;
}

/**
 * The ACL rules (without password and on/off) of an institution's queue user:
 * keys `scp:institution-<name>:*`, no pub/sub channel, and only the listed commands.
 * Institution names are [a-z0-9-] (validated), so the pattern has no glob characters, and the
 * `:` after the name keeps `institution-a` from matching `institution-a-b`.
 */
export function aclRulesFor(institution: string, opts: AclRuleOptions = {}): string[] {
  const keys = `~${queueKeyPrefix(institutionQueueName(institution))}*`;
  const db = opts.db ?? 0;
  if (!Number.isInteger(db) || db < 0) throw new Error(`database "${db}": expected a non-negative integer`);
  return [
    'resetkeys',
    keys,
    // BullMQ uses streams, not pub/sub.
    'resetchannels',
    '-@all',
    ...INSTITUTION_QUEUE_COMMANDS.map((command) => `+${command}`),
    // SELECT of one database only (Redis 7 first-argument rule), so the user cannot reach
    // same-named keys in another database.
    ...(db !== 0 ? [`+select|${db}`] : []),
  ];
}

const MIN_PASSWORD_LENGTH = 16;

export interface ProvisionedUser {
  username: string;
  /**
   * Whether ACL SAVE wrote the user to Redis' ACL file. Without an aclfile the user lives in
   * memory only: re-provision (idempotent) after a Redis restart.
   */
  persisted: boolean;
}

/**
 * Creates or replaces (`reset`: old passwords and rules dropped) the queue user of an
 * institution. The password goes to Redis as its SHA-256 (`#<hex>`), never in clear.
 */
export async function provisionInstitutionQueueUser(
  admin: Redis,
  institution: string,
  password: string,
  opts: AclRuleOptions = {},
): Promise<ProvisionedUser> {
  const rules = aclRulesFor(institution, opts);
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new Error(`queue password of ${institution}: at least ${MIN_PASSWORD_LENGTH} characters expected`);
  }
  const username = institutionQueueUser(institution);
  const hash = createHash('sha256').update(password, 'utf8').digest('hex');
  await admin.call('ACL', 'SETUSER', username, 'reset', 'on', `#${hash}`, ...rules);
  return { username, persisted: await saveAcl(admin) };
}

/**
 * Deletes the queue user of an institution; Redis disconnects its open connections.
 * Returns whether the user existed.
 */
export async function revokeInstitutionQueueUser(admin: Redis, institution: string): Promise<boolean> {
  institutionQueueName(institution); // validates the name
  const removed = Number(await admin.call('ACL', 'DELUSER', institutionQueueUser(institution)));
  await saveAcl(admin);
  return removed > 0;
}

/** ACL SAVE when Redis has an ACL file; false when it has none (users in memory only). */
async function saveAcl(admin: Redis): Promise<boolean> {
  try {
    await admin.call('ACL', 'SAVE');
    return true;
  } catch (error) {
    if (/not configured to use an ACL file/i.test((error as Error).message)) return false;
    throw error;
  }
}
