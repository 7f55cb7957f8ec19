import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ObjectStore } from '@fl/storage';
import type { ApiConfig } from '../config/api-config';
import { API_CONFIG } from '../config/config.module';
import { OBJECT_STORE, PRISMA, QUEUE_SETTINGS, REDIS, type Db, type QueueSettings } from '../infra/tokens';
import { AnnotationConsumer } from './annotation-consumer';
import { annotationQueueWorker, closeAnnotationQueueWorker } from './annotation-queue-worker';
import { AnnotationRunner } from './annotation-runner';

/**
 * Consumes ANNOTATION_QUEUE in the api when ANNOTATION_WORKER=on; each job runs in a child
 * process with ANNOTATION_TIMEOUT_SECONDS and ANNOTATION_MAX_MEMORY_MB (AnnotationConsumer).
 * dist/api/annotation-worker.js does the same as a service of its own.
 */
@Injectable()
export class AnnotationWorker implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('AnnotationWorker');
  private worker?: Worker;
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
    this.consumer = new AnnotationConsumer(new AnnotationRunner(this.db, this.store), {
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
    this.worker = annotationQueueWorker(this.consumer, {
      connection: this.redis,
      prefix: this.queues.prefix,
      onError: (m) => this.logger.error(m),
    });
  }

  async onModuleDestroy(): Promise<void> {
    await closeAnnotationQueueWorker(this.worker, this.consumer);
  }
}
