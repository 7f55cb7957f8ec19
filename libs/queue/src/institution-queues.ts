/**
 * The aggregator's side of the institutions' queues: put jobs in an institution's queue and
 * wait for their outcome.
 */
import { Job, Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  QUEUE_PREFIX,
  institutionQueueName,
  type InstitutionJobName,
  type JobData,
  type JobResult,
} from '@fl/platform';
import { assertBullmqConnection } from './connection';
import { Wakeups, timer } from './wakeups';

export type InstitutionJob<N extends InstitutionJobName = InstitutionJobName> = Job<
  JobData<N>,
  JobResult<N>,
  N
>;

export type JobOutcome<N extends InstitutionJobName> =
  | { status: 'completed'; result: JobResult<N> }
  | { status: 'failed'; reason: string }
  | { status: 'timeout' };

export interface EnqueueOptions {
  /** Deterministic id (institutionJobId): adding an id that exists returns the existing job. */
  jobId: string;
  /** Runs of the handler before the job fails (default 1; retries back off exponentially from 5 s). */
  attempts?: number;
}

export interface WaitOptions {
  /** Absolute deadline, in Date.now() milliseconds; past it the wait returns `timeout`. */
  deadlineMs: number;
}

export interface InstitutionQueuesOptions {
  /** Re-reads the job's state at least this often, events or not (default 1000 ms). */
  pollIntervalMs?: number;
  /** Finished jobs are deleted by BullMQ after this long (default 7 days; keeps enqueue idempotent). */
  keepFinishedSeconds?: number;
  /** Errors of the queues' connections (default: console.error). */
  onError?: (error: Error, institution: string) => void;
}

interface Entry {
  queue: Queue<JobData<InstitutionJobName>, JobResult<InstitutionJobName>, InstitutionJobName>;
  /** Created at the first wait: a dedicated blocking connection per institution. */
  events?: QueueEvents;
  wakeups: Wakeups;
}

// Anything before 1973 is surely a duration passed by mistake, not a Date.now() deadline.
const EARLIEST_DEADLINE_MS = 1e11;

export class InstitutionQueues {
  private readonly entries = new Map<string, Entry>();
  private readonly pollIntervalMs: number;
  private readonly keepFinishedSeconds: number;
  private readonly onError: (error: Error, institution: string) => void;
  private closed = false;

  /** `connection` (redisConnection()) stays the caller's: close() does not close it. */
  constructor(
    private readonly connection: Redis,
    options: InstitutionQueuesOptions = {},
  ) {
    assertBullmqConnection(connection, 'InstitutionQueues');
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.keepFinishedSeconds = options.keepFinishedSeconds ?? 7 * 24 * 3600;
    this.onError =
      options.onError ??
      ((error, institution) =>
        console.error(`[queue] ${institutionQueueName(institution)}: ${error.message}`));
  }

  /** Adds a job (idempotent by jobId) and returns the stored job, the existing one if any. */
  async enqueue<N extends InstitutionJobName>(
    institution: string,
    name: N,
    data: JobData<N>,
    opts: EnqueueOptions,
  ): Promise<InstitutionJob<N>> {
    const { queue } = this.entry(institution);
    const attempts = opts.attempts ?? 1;
    if (!Number.isInteger(attempts) || attempts < 1)
      throw new Error(`attempts ${attempts}: expected an integer >= 1`);
    // BullMQ ignores an add whose id exists (and emits "duplicated"); the Job it returns holds
    // the data just passed, so read back what is stored.
    const added = await queue.add(name, data, {
      jobId: opts.jobId,
      attempts,
      backoff: { type: 'exponential', delay: 5000 },
      removeOnComplete: { age: this.keepFinishedSeconds },
      removeOnFail: { age: this.keepFinishedSeconds },
    });
    const stored = await queue.getJob(opts.jobId);
    return (stored ?? added) as InstitutionJob<N>;
  }

  /**
   * Waits until the job completes or fails for good, or the deadline passes. Reads the job's
   * state in Redis (so a job that finished before the call is seen at once), re-reading at
   * each QueueEvents event of the job and at least every pollIntervalMs: events missed during
   * a disconnection or a Redis restart only delay the answer. A job that does not exist
   * (never added, or removed) is reported as failed.
   */
  async waitForResult<N extends InstitutionJobName>(
    institution: string,
    jobId: string,
    { deadlineMs }: WaitOptions,
  ): Promise<JobOutcome<N>> {
    if (!Number.isFinite(deadlineMs) || deadlineMs < EARLIEST_DEADLINE_MS) {
      throw new Error(`deadlineMs ${deadlineMs}: expected an absolute time (Date.now() + ms)`);
    }
    const entry = this.entry(institution);
    this.listen(institution, entry);
    for (;;) {
      this.assertOpen();
      const remaining = deadlineMs - Date.now();
      if (remaining <= 0) return { status: 'timeout' };
      // Armed before reading the state, so an event between the read and the sleep still wakes us.
      const wakeup = entry.wakeups.arm(jobId);
      // While Redis is unreachable the read waits for the reconnect: race it with the deadline.
      const deadline = timer(remaining);
      try {
        const read = readOutcome<N>(entry.queue, jobId);
        read.catch(() => undefined); // a read that loses the race may still fail later
        const outcome = await Promise.race([read, deadline.done.then(() => 'late' as const)]);
        if (outcome === 'late') continue; // the loop's deadline check answers
        if (outcome) return outcome;
        const poll = timer(Math.min(this.pollIntervalMs, deadlineMs - Date.now()));
        try {
          await Promise.race([wakeup.woken, poll.done]);
        } finally {
          poll.clear();
        }
      } finally {
        deadline.clear();
        wakeup.cancel();
      }
    }
  }

  /**
   * Removes a job (idempotent): true once it is gone (or was never there), false if a worker is
   * processing it (holds its lock), in which case it stays.
   */
  async remove(institution: string, jobId: string): Promise<boolean> {
    return (await this.entry(institution).queue.remove(jobId)) === 1;
  }

  /** Closes the queues and their event listeners (not the connection); pending waits reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const entries = [...this.entries.values()];
    this.entries.clear();
    for (const entry of entries) entry.wakeups.wakeAll();
    await Promise.all(entries.flatMap((entry) => [entry.queue.close(), entry.events?.close()]));
  }

  private entry(institution: string): Entry {
    this.assertOpen();
    const name = institutionQueueName(institution);
    let entry = this.entries.get(name);
    if (!entry) {
      // Shares the caller's connection (BullMQ does not close a connection it was given).
      const queue = new Queue<JobData<InstitutionJobName>, JobResult<InstitutionJobName>, InstitutionJobName>(
        name,
        {
          connection: this.connection,
          prefix: QUEUE_PREFIX,
        },
      );
      queue.on('error', (error) => this.onError(error, institution));
      entry = { queue, wakeups: new Wakeups() };
      this.entries.set(name, entry);
    }
    return entry;
  }

  private listen(institution: string, entry: Entry): void {
    if (entry.events) return;
    // XREAD BLOCK needs its own connection: BullMQ duplicates the one given and owns the copy.
    const events = new QueueEvents(institutionQueueName(institution), {
      connection: this.connection,
      prefix: QUEUE_PREFIX,
    });
    events.on('error', (error) => this.onError(error, institution));
    const wake = ({ jobId }: { jobId: string }): void => entry.wakeups.wake(jobId);
    events.on('completed', wake);
    events.on('failed', wake);
    events.on('removed', wake);
    entry.events = events;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('InstitutionQueues is closed');
  }
}

/** The job's final outcome, or null while it is waiting, delayed, active or being retried. */
async function readOutcome<N extends InstitutionJobName>(
  queue: Entry['queue'],
  jobId: string,
): Promise<JobOutcome<N> | null> {
  const state = await queue.getJobState(jobId);
  if (state === 'unknown')
    return { status: 'failed', reason: `job ${jobId} not found in queue ${queue.name}` };
  if (state !== 'completed' && state !== 'failed') return null;
  const job = await queue.getJob(jobId);
  if (!job) return { status: 'failed', reason: `job ${jobId} was removed from queue ${queue.name}` };
  if (state === 'completed') return { status: 'completed', result: job.returnvalue as JobResult<N> };
  return { status: 'failed', reason: job.failedReason || 'failed without a reason' };
}
