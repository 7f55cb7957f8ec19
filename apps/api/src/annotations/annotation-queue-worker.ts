import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { ANNOTATION_QUEUE, type AnnotationJobData } from '@fl/platform';
import type { AnnotationConsumer } from './annotation-consumer';
import { MAX_ATTEMPTS, type RunOutcome } from './annotation-runner';

/**
 * The BullMQ worker of ANNOTATION_QUEUE around an AnnotationConsumer, one job at a time
 * (embedding is CPU-bound). The consumer's event loop stays free while a child works, so the
 * lock renews and can be short: a job whose consumer was killed is handed out again about a
 * minute later. maxStalledCount lets that happen MAX_ATTEMPTS times: the claim then fails a job
 * whose runners died twice, with a message, rather than the queue failing it silently.
 */
export function annotationQueueWorker(
  consumer: AnnotationConsumer,
  options: { connection: Redis; prefix: string; onError: (message: string) => void },
): Worker<AnnotationJobData, RunOutcome> {
  const worker = new Worker<AnnotationJobData, RunOutcome>(
    ANNOTATION_QUEUE,
    (job, token) => consumer.process(job, token),
    {
      connection: options.connection,
      prefix: options.prefix,
      concurrency: 1,
      lockDuration: 60_000,
      maxStalledCount: MAX_ATTEMPTS,
      removeOnComplete: { count: 100 },
      removeOnFail: { count: 500 },
    },
  );
  worker.on('failed', (job, e) => {
    if (!job) return;
    consumer
      .abandoned(job.data.annotationJobId, e.message)
      .catch((err: Error) => options.onError(`annotation job ${job.data.annotationJobId}: ${err.message}`));
  });
  worker.on('error', (e) => options.onError(`annotation worker: ${e.message}`));
  return worker;
}

/** Stops taking jobs and ends the active one at once (it goes back to the queue, uncounted). */
export async function closeAnnotationQueueWorker(
  worker: Worker | undefined,
  consumer: AnnotationConsumer | undefined,
): Promise<void> {
  // close() waits for the active job, which stop() ends.
  const closing = worker?.close();
  consumer?.stop();
  await closing;
}
