import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DelayedError, type Job } from 'bullmq';
import type { AnnotationJobData, ServiceConnections } from '@fl/platform';
import type { AnnotationJobAnswer, AnnotationJobMessage } from './annotation-job-protocol';
import { AnnotationRunner, type RunOutcome } from './annotation-runner';
import { runChild, type ChildOutcome, type ChildRun } from './child-job';

/** The operator's limits on one annotation job (ANNOTATION_TIMEOUT_SECONDS, ANNOTATION_MAX_MEMORY_MB). */
export interface AnnotationLimits {
  timeoutSeconds: number;
  maxMemoryMb: number;
}

export interface AnnotationConsumerOptions {
  connections: Pick<ServiceConnections, 'databaseUrl' | 's3'>;
  /** Read for every job, so a changed setting applies to the next one. */
  limits: () => AnnotationLimits;
  log: { info(message: string): void; warn(message: string): void; error(message: string): void };
  /** The child's program; by default dist/api/annotation-job.js (see findAnnotationJobScript). */
  script?: string;
}

/**
 * Where the bundled annotation-job program is: beside the running bundle (dist/api), or, when
 * the api runs from source (tests), in the repository's dist/ after `npm run build`.
 */
export function findAnnotationJobScript(): string | undefined {
  const candidates = [
    fileURLToPath(new URL('./annotation-job.js', import.meta.url)),
    fileURLToPath(new URL('../../../../dist/api/annotation-job.js', import.meta.url)),
  ];
  return candidates.find((c) => existsSync(c));
}

export function describeLimits(l: AnnotationLimits): string {
  return `${l.timeoutSeconds} s ANNOTATION_TIMEOUT_SECONDS, ${l.maxMemoryMb} MB ANNOTATION_MAX_MEMORY_MB`;
}

const ASK = 'annotate a smaller query (fewer cells) or ask the operator to raise the limit';

/**
 * Runs each annotation job of the queue in its own child process (runChild), so that no query
 * can take the api down: the api claims the job, the child does the work and publishes the
 * result, and the api fails the job itself when the child is killed for its limits or dies.
 */
export class AnnotationConsumer {
  private readonly runner: AnnotationRunner;
  private current?: ChildRun<AnnotationJobAnswer>;
  private stopping = false;

  constructor(
    runner: AnnotationRunner,
    private readonly options: AnnotationConsumerOptions,
  ) {
    this.runner = runner;
  }

  /** The BullMQ processor. */
  async process(job: Job<AnnotationJobData>, token?: string): Promise<RunOutcome> {
    const jobId = job.data.annotationJobId;
    const limits = this.options.limits();
    const claim = await this.runner.claim(jobId, describeLimits(limits));
    if (claim.kind === 'skipped') return 'skipped';
    if (claim.kind === 'gave-up') {
      this.options.log.warn(`annotation job ${jobId} stopped its runner twice; failed`);
      return 'failed';
    }
    const script = this.options.script ?? findAnnotationJobScript();
    if (!script) {
      await this.runner.fail(
        jobId,
        claim.attempt,
        'The annotation could not run: the annotation job program (dist/api/annotation-job.js) is missing; ' +
          'the operator must run `npm run build`.',
      );
      return 'failed';
    }
    const outcome = this.stopping
      ? ({ kind: 'stopped' } as const)
      : await this.inChild(script, jobId, claim.attempt, limits);
    if (outcome.kind === 'result') {
      // For sizing ANNOTATION_MAX_MEMORY_MB: what real queries need.
      this.options.log.info(
        `annotation job ${jobId} ${outcome.result.outcome}; the process peaked at ${Math.round(outcome.peakRssMb)} MB`,
      );
      return outcome.result.outcome;
    }
    if (outcome.kind === 'stopped') {
      // The api is stopping: the job goes back to the queue, not counted as an attempt.
      await this.runner.release(jobId, claim.attempt);
      await job.moveToDelayed(Date.now() + 1000, token);
      throw new DelayedError();
    }
    const message = failureMessage(outcome, limits);
    if (outcome.kind === 'crashed') {
      this.options.log.error(`annotation job ${jobId}: ${message}; its last output:\n${outcome.output}`);
    } else {
      this.options.log.warn(`annotation job ${jobId}: ${message}`);
    }
    return (await this.runner.fail(jobId, claim.attempt, message)) ? 'failed' : 'skipped';
  }

  /**
   * A job the queue gave up on (it stalled more often than maxStalledCount allows, or the
   * processor itself failed): its row must not stay queued or running forever.
   */
  async abandoned(jobId: string, reason: string): Promise<void> {
    const stalled = /stalled/i.test(reason);
    const message = stalled
      ? `the annotation stopped unexpectedly twice; the query may be too large for this server (limits: ${describeLimits(this.options.limits())})`
      : `The annotation could not run: ${reason}`;
    await this.runner.abandon(jobId, message);
  }

  /** Kills the running child (the api is stopping); its job is handed back to the queue. */
  stop(): void {
    this.stopping = true;
    this.current?.stop();
  }

  private async inChild(
    script: string,
    jobId: string,
    attempt: number,
    limits: AnnotationLimits,
  ): Promise<ChildOutcome<AnnotationJobAnswer>> {
    const message: AnnotationJobMessage = {
      jobId,
      attempt,
      databaseUrl: this.options.connections.databaseUrl,
      s3: this.options.connections.s3,
    };
    this.current = runChild<AnnotationJobMessage, AnnotationJobAnswer>(script, message, {
      timeoutMs: limits.timeoutSeconds * 1000,
      maxMemoryMb: limits.maxMemoryMb,
    });
    try {
      return await this.current.outcome;
    } finally {
      this.current = undefined;
    }
  }
}

function failureMessage(outcome: ChildOutcome<unknown>, limits: AnnotationLimits): string {
  switch (outcome.kind) {
    case 'timeout':
      return `the annotation took longer than ${limits.timeoutSeconds} s (ANNOTATION_TIMEOUT_SECONDS) and was stopped; ${ASK}`;
    case 'memory':
      return `the annotation needed more than ${limits.maxMemoryMb} MB of memory (ANNOTATION_MAX_MEMORY_MB) and was stopped; ${ASK}`;
    case 'crashed': {
      const how = outcome.signal ? `signal ${outcome.signal}` : `exit code ${outcome.code}`;
      return (
        `the annotation stopped unexpectedly (${how}); the query may be too large for this server ` +
        `(limits: ${describeLimits(limits)})`
      );
    }
    default:
      return `the annotation ended unexpectedly (${outcome.kind})`;
  }
}
