/**
 * An institution's trainer worker: consumes its own queue only, one job at a time.
 */
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  QUEUE_PREFIX,
  institutionQueueName,
  type InstitutionJobName,
  type InstitutionJobs,
  type JobData,
  type JobResult,
} from '@fl/platform';
import { assertBullmqConnection } from './connection';

export type InstitutionJobHandler<N extends InstitutionJobName> = (
  data: JobData<N>,
  job: Job<JobData<N>, JobResult<N>, N>,
) => Promise<JobResult<N>>;

/** The job names this worker can run; a job of another name fails (see startInstitutionWorker). */
export type InstitutionHandlers = { [N in InstitutionJobName]?: InstitutionJobHandler<N> };

export type InstitutionWorkerInstance = Worker<
  JobData<InstitutionJobName>,
  JobResult<InstitutionJobName>,
  InstitutionJobName
>;

export interface InstitutionWorkerOptions {
  institution: string;
  /** Connected as the institution's queue user (redisConnection(WORKER_REDIS_URL)); not closed by close(). */
  connection: Redis;
  handlers: InstitutionHandlers;
  /**
   * How long a job's lock outlives the last renewal (default 60 s). The worker renews it every
   * lockDurationMs / 2, so a handler must not block the event loop that long; if it does, or
   * the process dies, the job counts as stalled and goes back to the queue.
   */
  lockDurationMs?: number;
  /** How often the stalled-job check runs (default lockDurationMs). */
  stalledIntervalMs?: number;
  /** Stalls a job survives before it fails ("job stalled more than allowable limit"; default 2). */
  maxStalledCount?: number;
  /** Worker errors: connection trouble, NOPERM, lost locks (default: console.error). */
  onError?: (error: Error) => void;
}

export interface InstitutionWorker {
  worker: InstitutionWorkerInstance;
  /** Stops taking jobs and waits for the current one to finish (idempotent). */
  close(): Promise<void>;
}

const JOB_NAMES: readonly InstitutionJobName[] = Object.keys({
  describe: true,
  'secagg-advertise': true,
  'secagg-share': true,
  'secagg-receive': true,
  'gene-scores': true,
  train: true,
  unmask: true,
  landmarks: true,
} satisfies Record<InstitutionJobName, true>) as InstitutionJobName[];

/**
 * Starts a BullMQ Worker on the institution's queue, with concurrency 1 (one training job at a
 * time: they hold the institution's data and CPU).
 *
 * Stalled jobs: while a job runs its lock (`<job>:lock`, TTL lockDurationMs) is renewed every
 * lockDurationMs / 2. Every stalledIntervalMs a worker of the queue (this one, or the one
 * restarted after a crash) marks the active jobs, and puts back in the wait list those still
 * marked at the next check whose lock has expired. A killed worker's job is therefore retried
 * within about lockDurationMs + 2 x stalledIntervalMs once a worker runs again; this does not
 * use up `attempts`, but after maxStalledCount stalls the job fails instead of looping.
 *
 * A job whose name has no handler fails at once, without retries (UnrecoverableError).
 */
export function startInstitutionWorker(opts: InstitutionWorkerOptions): InstitutionWorker {
  const queueName = institutionQueueName(opts.institution);
  assertBullmqConnection(opts.connection, `worker of ${queueName}`);
  const lockDuration = opts.lockDurationMs ?? 60_000;
  const stalledInterval = opts.stalledIntervalMs ?? lockDuration;
  const maxStalledCount = opts.maxStalledCount ?? 2;
  if (!(lockDuration >= 100)) throw new Error(`lockDurationMs ${lockDuration}: expected >= 100`);
  if (!(stalledInterval >= 100)) throw new Error(`stalledIntervalMs ${stalledInterval}: expected >= 100`);
  const onError =
    opts.onError ?? ((error: Error) => console.error(`[queue] worker of ${queueName}: ${error.message}`));
  const known = Object.keys(opts.handlers).filter((name) => opts.handlers[name as InstitutionJobName]);

  const processor = async (
    job: Job<JobData<InstitutionJobName>, JobResult<InstitutionJobName>, InstitutionJobName>,
  ): Promise<JobResult<InstitutionJobName>> => {
    const name = job.name;
    const handler = JOB_NAMES.includes(name) ? opts.handlers[name] : undefined;
    if (!handler) {
      throw new UnrecoverableError(
        `no handler for job "${job.name}" in the worker of ${queueName} (handles: ${known.join(', ') || 'nothing'})`,
      );
    }
    // The union of handlers cannot be called with the union of data types; the name ties them.
    const run = handler as (data: unknown, job: unknown) => Promise<InstitutionJobs[InstitutionJobName][1]>;
    return run(job.data, job);
  };

  const worker: InstitutionWorkerInstance = new Worker<
    JobData<InstitutionJobName>,
    JobResult<InstitutionJobName>,
    InstitutionJobName
  >(queueName, processor, {
    // The main connection is the caller's; BullMQ adds a duplicate (same user) for BZPOPMIN.
    connection: opts.connection,
    prefix: QUEUE_PREFIX,
    concurrency: 1,
    lockDuration,
    stalledInterval,
    maxStalledCount,
    autorun: true,
  });
  worker.on('error', onError);

  let closing: Promise<void> | undefined;
  return {
    worker,
    close: () => (closing ??= worker.close()),
  };
}
