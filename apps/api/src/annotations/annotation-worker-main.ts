// `node dist/api/annotation-worker.js`: the annotation queue's consumer as a service of its own
// (the api then runs with ANNOTATION_WORKER=off), for deployments that keep annotation work off
// the api's machines. Each job still runs in a child process with the same limits.
import { z } from 'zod';
import { createPrismaClient } from '@fl/persistence';
import { ConfigError, parseEnv, QUEUE_PREFIX, serviceConnections, serviceEnvFields } from '@fl/platform';
import { closeOnSignals, redisConnection } from '@fl/queue';
import { MinioObjectStore } from '@fl/storage';
import { AnnotationConsumer } from './annotation-consumer';
import { annotationEnvFields } from './annotation-env';
import { annotationQueueWorker, closeAnnotationQueueWorker } from './annotation-queue-worker';
import { AnnotationRunner } from './annotation-runner';

const log = (m: string) => console.log(`[annotation-worker] ${m}`);

function config() {
  try {
    const e = parseEnv(z.object({ ...serviceEnvFields, ...annotationEnvFields }), process.env);
    return {
      ...serviceConnections(e),
      limits: { timeoutSeconds: e.ANNOTATION_TIMEOUT_SECONDS, maxMemoryMb: e.ANNOTATION_MAX_MEMORY_MB },
    };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`${e.message}\n`);
    process.exit(2);
  }
}

const c = config();
const db = createPrismaClient(c.databaseUrl);
const connection = redisConnection(c.redisUrl, {
  variable: 'REDIS_URL',
  connectionName: 'scprivacy-annotation',
  ca: c.redisCa,
});
const consumer = new AnnotationConsumer(new AnnotationRunner(db, new MinioObjectStore(c.s3)), {
  connections: c,
  limits: () => c.limits,
  log: { info: log, warn: log, error: log },
});
const worker = annotationQueueWorker(consumer, { connection, prefix: QUEUE_PREFIX, onError: log });
log(
  `waiting for annotation jobs (limits: ${c.limits.timeoutSeconds} s ANNOTATION_TIMEOUT_SECONDS, ` +
    `${c.limits.maxMemoryMb} MB ANNOTATION_MAX_MEMORY_MB)`,
);
closeOnSignals({
  close: async () => {
    await closeAnnotationQueueWorker(worker, consumer);
    await connection.quit().catch(() => connection.disconnect());
    await db.$disconnect();
  },
});
