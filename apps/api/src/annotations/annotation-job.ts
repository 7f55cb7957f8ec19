// The process that runs one annotation job (dist/api/annotation-job.js), forked by the api's
// annotation consumer with limits on its time and memory: whatever a query does to this
// process, the api goes on answering. It gets the job and the connections over IPC, runs the
// job (AnnotationRunner.execute: results stored, then one conditional row update), answers and
// exits.
import { createPrismaClient } from '@fl/persistence';
import { MinioObjectStore } from '@fl/storage';
import type { AnnotationJobAnswer, AnnotationJobMessage } from './annotation-job-protocol';
import { AnnotationRunner } from './annotation-runner';

// The api went away (killed): nobody would read the answer, and the job will be claimed again.
process.on('disconnect', () => process.exit(70));

process.once('message', (message: AnnotationJobMessage) => {
  void run(message).then(
    (answer) => process.send!(answer, () => process.exit(0)),
    (e: unknown) => {
      process.stderr.write(`annotation job ${message.jobId}: ${(e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
});

async function run(m: AnnotationJobMessage): Promise<AnnotationJobAnswer> {
  const db = createPrismaClient(m.databaseUrl);
  try {
    const runner = new AnnotationRunner(db, new MinioObjectStore(m.s3), {
      threads: m.threads,
      log: (line) => process.stderr.write(`${line}\n`),
    });
    return { outcome: await runner.execute(m.jobId, m.attempt) };
  } finally {
    await db.$disconnect().catch(() => undefined);
  }
}
