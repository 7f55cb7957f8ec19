import { createServer } from 'node:http';
import { Queue, Worker } from 'bullmq';
import { initBackend } from '@fl/engine';
import { createPrismaClient } from '@fl/persistence';
import {
  CONTROL_QUEUE,
  institutionQueueName,
  QUEUE_PREFIX,
  StartupError,
  startupStep,
  type ControlJob,
} from '@fl/platform';
import {
  closeOnSignals,
  InstitutionQueues,
  keepBullmqScriptsLoaded,
  redisConnection,
  redisTlsFailure,
} from '@fl/queue';
import { MinioObjectStore } from '@fl/storage';
import { ConfigError, loadAggregatorConfig } from './config';
import { FederationRunner } from './federation-runner';

const HELP = `scprivacy aggregator: orchestrates the consortium's federations.

Takes start / cancel / resume requests from the API (queue "${CONTROL_QUEUE}"), drives each
federation's rounds through the institutions' queues, removes the secure-aggregation masks,
and versions the models in the object store and Postgres (the final one, every k-th round, the
latest and pinned ones; the others are deleted). All state is in Postgres: a
restarted aggregator resumes the federations that were running.
Environment: DATABASE_URL, REDIS_URL, S3_ENDPOINT, S3_PORT, S3_USE_SSL, S3_ACCESS_KEY,
S3_SECRET_KEY, S3_BUCKET, PRESIGN_TTL_SECONDS (3600), AGGREGATOR_HEALTH_PORT (optional).
Optional: REDIS_CA_FILE (PEM CA bundle trusted for a rediss:// REDIS_URL besides the system
roots); S3_PUBLIC_ENDPOINT (https://host[:port]: the workers' presigned URLs are signed for this
public address of the object store instead of S3_ENDPOINT:S3_PORT, for sites outside the cluster).
`;

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(HELP);
    return;
  }
  const config = loadAggregatorConfig();
  await initBackend('cpu'); // model initialisation only; the tensor work happens in the workers
  const prisma = createPrismaClient(config.databaseUrl);
  const redisOptions = { variable: 'REDIS_URL', ca: config.redisCa };
  const connection = redisConnection(config.redisUrl, redisOptions);
  const publisher = redisConnection(config.redisUrl, redisOptions);
  // A Redis certificate this aggregator does not trust does not heal by reconnecting: stop, saying why.
  const tlsContext = {
    variable: 'REDIS_URL',
    url: config.redisUrl,
    caVariable: 'REDIS_CA_FILE',
    caGiven: config.redisCa !== undefined,
  };
  for (const c of [connection, publisher]) {
    c.on('error', (e: Error) => {
      const tls = redisTlsFailure(e, tlsContext);
      if (!tls) return;
      process.stderr.write(`aggregator: ${tls}\n`);
      process.exit(1);
    });
  }
  // Institution workers may only EVALSHA (no EVAL): keep BullMQ's scripts in Redis' script
  // cache for them, now, after every reconnect (a restarted Redis) and when a check finds them gone.
  // Not awaited: with Redis away the load waits for it, and failures are logged and retried.
  const scripts = keepBullmqScriptsLoaded(connection, { log });
  const store = new MinioObjectStore(config.s3);
  if (config.s3.publicEndpoint) {
    log(`presigned URLs for the workers are signed for ${config.s3.publicEndpoint} (S3_PUBLIC_ENDPOINT)`);
  }
  await startupStep(
    `cannot reach the object store at ${config.s3.endPoint}:${config.s3.port} (S3_ENDPOINT, S3_PORT)`,
    () => store.ensureBucket(),
  );
  const queues = new InstitutionQueues(connection, { pollIntervalMs: 1000 });
  const probes = new Map<string, Queue>();
  const online = async (institution: string): Promise<boolean> => {
    let q = probes.get(institution);
    if (!q) {
      q = new Queue(institutionQueueName(institution), { connection, prefix: QUEUE_PREFIX });
      probes.set(institution, q);
    }
    return (await q.getWorkersCount()) > 0;
  };
  const runner = new FederationRunner({
    prisma,
    queues,
    store,
    publisher,
    presignTtlSeconds: config.presignTtlSeconds,
    online,
    log,
  });

  const running = new Map<string, Promise<void>>();
  const launch = (federationId: string): void => {
    if (running.has(federationId)) return;
    const run = runner.run(federationId).finally(() => running.delete(federationId));
    running.set(federationId, run);
  };

  // Resume what a previous aggregator left running (all of its state is in Postgres).
  const unfinished = await startupStep('cannot read the federations from Postgres (DATABASE_URL)', () =>
    prisma.federation.findMany({ where: { status: 'running' }, select: { id: true } }),
  );
  for (const f of unfinished) {
    log(`resuming federation ${f.id}`);
    launch(f.id);
  }

  const control = new Worker<ControlJob>(
    CONTROL_QUEUE,
    async (job) => {
      const { action, federationId } = job.data;
      if (action === 'cancel') {
        // The driver sees the status between steps and stops; its state stays for a later resume.
        await prisma.federation.updateMany({
          where: { id: federationId, status: { in: ['pending', 'running'] } },
          data: { status: 'cancelled', finishedAt: new Date() },
        });
        log(`federation ${federationId} cancelled`);
        return;
      }
      if (action === 'resume') {
        // A cancelled run may still be finishing its current step: let it end first, or
        // launch() would see it running and the resumed federation would wait for ever.
        await running.get(federationId);
        await prisma.federation.updateMany({
          where: { id: federationId, status: { in: ['failed', 'cancelled'] } },
          data: { status: 'pending', error: null, finishedAt: null },
        });
      }
      launch(federationId);
    },
    { connection, prefix: QUEUE_PREFIX, concurrency: 4 },
  );
  control.on('error', (e) => log(`control queue: ${e.message}`));

  const health =
    config.healthPort !== undefined
      ? createServer((_req, res) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ status: 'ok', running: [...running.keys()] }));
        }).listen(config.healthPort)
      : undefined;
  log(`aggregator ready; ${unfinished.length} federation(s) resumed`);

  closeOnSignals({
    close: async () => {
      runner.stop();
      scripts.stop();
      health?.close();
      await control.close();
      await queues.close();
      await Promise.all([...probes.values()].map((q) => q.close()));
      // Running federations stop where they are; their state is in Postgres for the next start.
      await Promise.race([Promise.allSettled(running.values()), new Promise((r) => setTimeout(r, 2000))]);
      connection.disconnect();
      publisher.disconnect();
      await prisma.$disconnect();
    },
  });
}

function log(message: string): void {
  process.stdout.write(`[aggregator ${new Date().toISOString()}] ${message}\n`);
}

main().catch((e: unknown) => {
  if (e instanceof ConfigError) {
    process.stderr.write(`aggregator: ${e.message}\n`);
    process.exit(2);
  }
  if (e instanceof StartupError) {
    process.stderr.write(`aggregator: ${e.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`aggregator: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
