/**
 * @fl/queue: the institutions' BullMQ queues.
 * - redis-url, connection: Redis URLs and ioredis connections fit for BullMQ
 * - redis-tls: rediss:// trust (a private CA file) and TLS failures explained
 * - acl, worker-commands: each institution's Redis ACL user, limited to its own queue
 * - bullmq-scripts, evalsha-only: workers run BullMQ's scripts by EVALSHA only, the platform
 *   keeps them in Redis' script cache
 * - institution-queues: the aggregator enqueues jobs and waits for their outcome
 * - worker, close-on-signals: an institution's trainer worker and its graceful shutdown
 */
export * from './redis-url';
export * from './connection';
export * from './redis-tls';
export * from './worker-commands';
export * from './acl';
export * from './bullmq-scripts';
export * from './evalsha-only';
export * from './institution-queues';
export * from './worker';
export * from './close-on-signals';
