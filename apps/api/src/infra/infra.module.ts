import {
  Global,
  Inject,
  Logger,
  Module,
  type DynamicModule,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  ANNOTATION_QUEUE,
  CONTROL_QUEUE,
  QUEUE_PREFIX,
  type AnnotationJobData,
  type ControlJob,
} from '@fl/platform';
import { createPrismaClient } from '@fl/persistence';
import { redisConnection } from '@fl/queue';
import { MinioObjectStore, type ObjectStore } from '@fl/storage';
import type { ApiConfig } from '../config/api-config';
import { API_CONFIG } from '../config/config.module';
import {
  ANNOTATION_QUEUE_TOKEN,
  CONTROL_QUEUE_TOKEN,
  OBJECT_STORE,
  PRISMA,
  QUEUE_SETTINGS,
  REDIS,
  type Db,
  type QueueSettings,
} from './tokens';

/** Object-store part size of the api's uploads (S3's minimum is 5 MiB). */
const API_PART_SIZE = 5 * 1024 * 1024;

export interface InfraOverrides {
  /** BullMQ prefix of the control and annotation queues (default "scp", what the aggregator reads). */
  queuePrefix?: string;
}

/** Closes the shared connections after every module has stopped using them. */
class InfraShutdown implements OnApplicationShutdown {
  private readonly logger = new Logger('Infra');
  constructor(
    @Inject(PRISMA) private readonly db: Db,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(CONTROL_QUEUE_TOKEN) private readonly control: Queue,
    @Inject(ANNOTATION_QUEUE_TOKEN) private readonly annotation: Queue,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    const steps: [string, () => Promise<unknown>][] = [
      ['control queue', () => this.control.close()],
      ['annotation queue', () => this.annotation.close()],
      ['redis', () => this.redis.quit().catch(() => this.redis.disconnect())],
      ['postgres', () => this.db.$disconnect()],
    ];
    for (const [what, close] of steps) {
      await close().catch((e: Error) => this.logger.warn(`closing ${what}: ${e.message}`));
    }
  }
}

/**
 * Postgres (Prisma), Redis (ioredis + BullMQ queues) and the object store (MinIO / S3), each
 * created once from the validated configuration.
 */
@Global()
@Module({})
export class InfraModule {
  static forRoot(overrides: InfraOverrides = {}): DynamicModule {
    const queueSettings: QueueSettings = { prefix: overrides.queuePrefix ?? QUEUE_PREFIX };
    return {
      module: InfraModule,
      providers: [
        { provide: QUEUE_SETTINGS, useValue: queueSettings },
        {
          provide: PRISMA,
          inject: [API_CONFIG],
          useFactory: (config: ApiConfig) => createPrismaClient(config.databaseUrl),
        },
        {
          provide: REDIS,
          inject: [API_CONFIG],
          useFactory: (config: ApiConfig) =>
            redisConnection(config.redisUrl, {
              variable: 'REDIS_URL',
              connectionName: 'scprivacy-api',
              ca: config.redisCa,
            }),
        },
        {
          provide: OBJECT_STORE,
          inject: [API_CONFIG],
          useFactory: async (config: ApiConfig): Promise<ObjectStore> => {
            // 5 MiB parts (S3 minimum) rather than the store's 64 MiB: the minio client hashes each part
            // (sha256 + md5) on the event loop in one synchronous call, which for a 64 MiB part
            // blocks every other request of the api for ~100 ms or more (docs/hardening.md).
            const store = new MinioObjectStore({ partSize: API_PART_SIZE, ...config.s3 });
            // A store that is down at start-up is reported by /health/ready rather than
            // stopping the api: the operator then sees what is missing.
            await store.ensureBucket().catch((e: Error) => {
              new Logger('Infra').warn(`object store bucket ${config.s3.bucket} not ready: ${e.message}`);
            });
            return store;
          },
        },
        {
          provide: CONTROL_QUEUE_TOKEN,
          inject: [REDIS],
          useFactory: (redis: Redis) =>
            new Queue<ControlJob>(CONTROL_QUEUE, { connection: redis, prefix: queueSettings.prefix }),
        },
        {
          provide: ANNOTATION_QUEUE_TOKEN,
          inject: [REDIS],
          useFactory: (redis: Redis) =>
            new Queue<AnnotationJobData>(ANNOTATION_QUEUE, {
              connection: redis,
              prefix: queueSettings.prefix,
              defaultJobOptions: { removeOnComplete: 100, removeOnFail: 500 },
            }),
        },
        InfraShutdown,
      ],
      exports: [PRISMA, REDIS, OBJECT_STORE, CONTROL_QUEUE_TOKEN, ANNOTATION_QUEUE_TOKEN, QUEUE_SETTINGS],
    };
  }
}
