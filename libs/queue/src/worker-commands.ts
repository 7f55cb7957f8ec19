/**
 * The Redis commands an institution's queue user may run, and why each is needed (BullMQ 6.7
 * with ioredis 5). Everything here is key-scoped (checked against the user's key pattern) or
 * reads nothing of other tenants. Deliberately absent: ACL, CONFIG, FLUSHALL/FLUSHDB, KEYS,
 * SCAN (only Queue.removeOrphanedJobs uses it), CLIENT LIST/KILL (Queue.getWorkers), MONITOR,
 * SUBSCRIBE/PUBLISH (BullMQ uses streams, not pub/sub), EVAL, EVAL_RO, SCRIPT, FUNCTION, FCALL,
 * DEBUG, SHUTDOWN.
 *
 * worker-commands.spec.ts re-derives the script commands from node_modules/bullmq, so a
 * BullMQ upgrade that needs a new command fails a test instead of a production worker.
 */

/** Connection set-up. */
export const CONNECTION_COMMANDS = [
  // BullMQ names its blocking connection (ioredis `connectionName`); only this subcommand.
  'client|setname',
  // Read-only server metadata (no keys or values): ioredis' ready check waits while a
  // restarted Redis loads its dataset, and BullMQ picks version-dependent code paths.
  'info',
] as const;

/**
 * BullMQ's Lua scripts, by EVALSHA only: the platform loads them into the script cache
 * (bullmq-scripts.ts) and the worker's connection never falls back to EVAL (evalsha-only.ts).
 * No EVAL, EVAL_RO, SCRIPT, FUNCTION or FCALL: arbitrary Lua runs in Redis' only thread, so a
 * worker's `while true do end` would stall Redis for every tenant.
 */
export const SCRIPT_COMMANDS = ['evalsha'] as const;

/** Issued directly by BullMQ's TypeScript (outside scripts). */
export const DIRECT_COMMANDS = [
  'bzpopmin', // the worker's blocking wait on the queue's marker key
  'xread', // QueueEvents tails the events stream
  'xadd', // publishing events
  'xtrim', // Queue.trimEvents
  'hgetall', // Job.fromId
  'hget',
  'hmget',
  'hset',
  'hdel',
  'hexists',
  'get',
  'set',
  'del',
  'lpos', // Job.isWaiting / isActive
  'ltrim', // Job.clearLogs
  'lrange', // Job.getLogs
  'llen',
  'smembers',
  'sscan', // Job.getDependencies: one key, not the keyspace
  'hscan',
  'zcard',
  'zrange',
  'zrevrange',
  'zscore',
  'multi', // pipelined reads (getJobLogs, getDependencies)
  'exec',
] as const;

/**
 * Called by BullMQ's Lua scripts. Redis checks every `redis.call` of a script against the
 * caller's ACL (command and key, declared in KEYS or not), so these must be granted, and a
 * script can never reach a key outside the queue's prefix.
 */
export const LUA_SCRIPT_COMMANDS = [
  'del',
  'exists',
  'get',
  'hdel',
  'hexists',
  'hget',
  'hgetall',
  'hincrby',
  'hlen',
  'hmget',
  'hmset',
  'hscan',
  'hset',
  'incr',
  'lindex',
  'llen',
  'lpop',
  'lpos',
  'lpush',
  'lrange',
  'lrem',
  'lset',
  'ltrim',
  'persist',
  'pexpire',
  'pttl',
  'rename',
  'rpop',
  'rpoplpush',
  'rpush',
  'sadd',
  'scard',
  'set',
  'sismember',
  'smembers',
  'srem',
  'sscan',
  'type',
  'xadd',
  'xtrim',
  'zadd',
  'zcard',
  'zcount',
  'zpopmin',
  'zrange',
  'zrangebyscore',
  'zrem',
  'zremrangebyrank',
  'zremrangebyscore',
  'zrevrange',
  'zrevrangebyscore',
  'zscore',
] as const;

/** Every command granted to an institution's queue user, sorted and without duplicates. */
export const INSTITUTION_QUEUE_COMMANDS: readonly string[] = [
  ...new Set<string>([
    ...CONNECTION_COMMANDS,
    ...SCRIPT_COMMANDS,
    ...DIRECT_COMMANDS,
    ...LUA_SCRIPT_COMMANDS,
  ]),
].sort();
