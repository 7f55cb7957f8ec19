/**
 * Queue names and Redis key layout shared by the api, the aggregator and the workers.
 * Every institution has its own BullMQ queue; its worker's Redis ACL user may touch only the
 * keys under that queue's prefix (libs/queue provisions the user).
 */

/** BullMQ key prefix of every platform queue. */
export const QUEUE_PREFIX = 'scp';

/** Institution names: lower-case letters, digits and dashes (also their certificate's name). */
export const INSTITUTION_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** The training queue of one institution (consumed only by that institution's worker). */
export function institutionQueueName(institution: string): string {
  if (!INSTITUTION_NAME.test(institution)) {
    throw new Error(`institution name "${institution}": expected lower-case letters, digits and dashes`);
  }
  return `institution-${institution}`;
}

/** Redis keys of a queue start with this (BullMQ: `<prefix>:<queue>:`). */
export function queueKeyPrefix(queue: string): string {
  return `${QUEUE_PREFIX}:${queue}:`;
}

/** The api asks the aggregator to start, cancel or resume federations here. */
export const CONTROL_QUEUE = 'federation-control';
/** Annotation jobs (run by the aggregator process, which holds no institution's data). */
export const ANNOTATION_QUEUE = 'annotation';

/** The Redis ACL user name of an institution's worker. */
export function institutionQueueUser(institution: string): string {
  return `worker-${institution}`;
}
