import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { ANNOTATION_QUEUE, type AnnotationJobData } from '@fl/platform';
import type { ObjectStore } from '@fl/storage';
import type { ApiConfig } from '../config/api-config';
import { API_CONFIG } from '../config/config.module';
import { OBJECT_STORE, PRISMA, QUEUE_SETTINGS, REDIS, type Db, type QueueSettings } from '../infra/tokens';
import { AnnotationRunner, type RunOutcome } from './annotation-runner';

/**
 * Consumes ANNOTATION_QUEUE inside the api process when ANNOTATION_WORKER=on, one job at a time
 * (embedding is CPU-bound). The lock is long because embedding a large query can hold the event
 * loop: a short lock would let BullMQ think the job stalled and hand it out twice.
 */
@Injectable()
export class AnnotationWorker implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('AnnotationWorker');
  private worker?: Worker<AnnotationJobData, RunOutcome>;

  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(PRISMA) private readonly db: Db,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(QUEUE_SETTINGS) private readonly queues: QueueSettings,
  ) {}

  onModuleInit(): void {
    if (!this.config.annotationWorker) return;
    const runner = new AnnotationRunner(this.db, this.store, { log: (m) => this.logger.warn(m) });
    this.worker = new Worker<AnnotationJobData, RunOutcome>(
      ANNOTATION_QUEUE,
      (job) => runner.run(job.data.annotationJobId),
      {
        connection: this.redis,
        prefix: this.queues.prefix,
        concurrency: 1,
        lockDuration: 10 * 60_000,
        removeOnComplete: { count: 100 },
        removeOnFail: { count: 500 },
      },
    );
    this.worker.on('error', (e) => this.logger.error(`annotation worker: ${e.message}`));
  }

  async onModuleDestroy(): Promise<void> {
    await this.worker?.close();
  }
}
