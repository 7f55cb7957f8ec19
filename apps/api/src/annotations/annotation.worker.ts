import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { ANNOTATION_QUEUE, type AnnotationJobData } from '@fl/platform';
import type { ObjectStore } from '@fl/storage';
import type { ApiConfig } from '../config/api-config';
import { API_CONFIG } from '../config/config.module';
import { OBJECT_STORE, PRISMA, QUEUE_SETTINGS, REDIS, type Db, type QueueSettings } from '../infra/tokens';
import { AnnotationConsumer } from './annotation-consumer';
import { AnnotationRunner, MAX_ATTEMPTS, type RunOutcome } from './annotation-runner';

/**
 * Consumes ANNOTATION_QUEUE when ANNOTATION_WORKER=on, one job at a time (embedding is
 * CPU-bound), each in a child process with ANNOTATION_TIMEOUT_SECONDS and
 * ANNOTATION_MAX_MEMORY_MB (AnnotationConsumer). The api's event loop stays free, so the lock
 * renews and can be short: a job whose api was killed is handed out again about a minute later.
 * maxStalledCount lets that happen MAX_ATTEMPTS times: the claim then fails a job whose
 * runners died twice, with a message, rather than the queue failing it silently.
 */
@Injectable()
export class AnnotationWorker implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('AnnotationWorker');
  private worker?: Worker<AnnotationJobData, RunOutcome>;
  private consumer?: AnnotationConsumer;

  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(PRISMA) private readonly db: Db,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(QUEUE_SETTINGS) private readonly queues: QueueSettings,
  ) {}

  onModuleInit(): void {
    if (!this.config.annotationWorker) return;
    const consumer = new AnnotationConsumer(new AnnotationRunner(this.db, this.store), {
      connections: this.config,
      limits: () => ({
        timeoutSeconds: this.config.annotationTimeoutSeconds,
        maxMemoryMb: this.config.annotationMaxMemoryMb,
      }),
      log: {
        info: (m) => this.logger.log(m),
        warn: (m) => this.logger.warn(m),
        error: (m) => this.logger.error(m),
      },
    });
    this.consumer = consumer;
    this.worker = new Worker<AnnotationJobData, RunOutcome>(
      ANNOTATION_QUEUE,
      (job, token) => consumer.process(job, token),
      {
        connection: this.redis,
        prefix: this.queues.prefix,
        concurrency: 1,
        lockDuration: 60_000,
        maxStalledCount: MAX_ATTEMPTS,
        removeOnComplete: { count: 100 },
        removeOnFail: { count: 500 },
      },
    );
    this.worker.on('failed', (job, e) => {
      if (!job) return;
      consumer
        .abandoned(job.data.annotationJobId, e.message)
        .catch((err: Error) =>
          this.logger.error(`annotation job ${job.data.annotationJobId}: ${err.message}`),
        );
    });
    this.worker.on('error', (e) => this.logger.error(`annotation worker: ${e.message}`));
  }

  async onModuleDestroy(): Promise<void> {
    // close() stops taking jobs and waits for the active one, which stop() ends at once.
    const closing = this.worker?.close();
    this.consumer?.stop();
    await closing;
  }
}
