import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { DelayedError, type Job, type Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnnotationJobData } from '@fl/platform';
import { AnnotationConsumer } from '../../apps/api/src/annotations/annotation-consumer';
import { AnnotationRunner } from '../../apps/api/src/annotations/annotation-runner';
import { ANNOTATION_QUEUE_TOKEN } from '../../apps/api/src/infra/tokens';
import {
  createConsortium,
  formWith,
  registerInstitution,
  startApi,
  type ApiHarness,
  type RegisteredInstitution,
} from './support/api-harness';
import { makeBundleTar, QUERY } from './support/model-bundle';

interface JobJson {
  id: string;
  status: string;
  error: string | null;
  summary: { cells: number };
}

/**
 * A query of `cells` cells made of the example query's rows repeated (under new ids): it needs
 * memory in proportion to its cells, while its gzip stays a few MB.
 */
async function largeQuery(cells: number): Promise<Buffer> {
  const lines = gunzipSync(await readFile(QUERY))
    .toString('utf8')
    .trim()
    .split('\n');
  const header = lines[0];
  const rows = lines.slice(1).map((l) => l.slice(l.indexOf(',')));
  const out: string[] = [header];
  // Each row repeated in a run of 500: gzip (a 32 KB window) then stores the repeats in bytes.
  for (let i = 0; i < cells; i++) out.push(`cell${i}${rows[Math.floor(i / 500) % rows.length]}`);
  return gzipSync(out.join('\n') + '\n', { level: 6 });
}

describe('api: annotation jobs run in a child process with time and memory limits', () => {
  let api: ApiHarness;
  let dir: string;
  let a: RegisteredInstitution;
  let modelVersionId: string;
  let consortiumId: string;
  let big: Buffer;

  const submit = async (data: Buffer | Uint8Array, name: string) => {
    const res = await api.rest('/api/v1/annotations', {
      method: 'POST',
      token: a.token,
      body: formWith(name, data, { modelVersionId }),
    });
    expect(res.status).toBe(202);
    return ((await res.json()) as { id: string }).id;
  };

  /** Waits for the job to finish, timing /health/live meanwhile (the api must stay responsive). */
  async function finishWhileProbing(id: string): Promise<{ job: JobJson; slowestLiveMs: number }> {
    const deadline = Date.now() + 120_000;
    let slowestLiveMs = 0;
    for (;;) {
      const started = performance.now();
      const live = await fetch(`${api.url}/health/live`);
      slowestLiveMs = Math.max(slowestLiveMs, performance.now() - started);
      expect(live.status).toBe(200);
      const job = (await (await api.rest(`/api/v1/annotations/${id}`, { token: a.token })).json()) as JobJson;
      if (job.status === 'completed' || job.status === 'failed') return { job, slowestLiveMs };
      if (Date.now() > deadline) throw new Error(`annotation job ${id} still ${job.status}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'api-annotation-limits-'));
    let bundle;
    [api, bundle, big] = await Promise.all([
      startApi('annotation_limits', { ANNOTATION_MAX_MEMORY_MB: '4096', ANNOTATION_TIMEOUT_SECONDS: '900' }),
      makeBundleTar(dir),
      largeQuery(60_000),
    ]);
    const x = await createConsortium(api, 'Limits X');
    consortiumId = x.id;
    a = await registerInstitution(api, x.id, x.adminToken, 'la');
    const res = await api.rest('/api/v1/model-versions/import', {
      method: 'POST',
      token: a.token,
      body: formWith('model.tar', await readFile(bundle.tar)),
    });
    expect(res.status).toBe(201);
    modelVersionId = ((await res.json()) as { id: string }).id;
  });

  afterAll(async () => {
    await api?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  // The operator's limits are read for every job, so each test sets the ones it needs.
  const limits = (seconds: number, megabytes: number) => {
    api.config.annotationTimeoutSeconds = seconds;
    api.config.annotationMaxMemoryMb = megabytes;
  };

  it('should fail a query that needs more memory than ANNOTATION_MAX_MEMORY_MB, and keep answering', async () => {
    limits(900, 400);
    const id = await submit(big, 'large-query.csv.gz');
    const { job, slowestLiveMs } = await finishWhileProbing(id);
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(
      /^the annotation needed more than 400 MB of memory \(ANNOTATION_MAX_MEMORY_MB\) and was stopped/,
    );
    expect(slowestLiveMs).toBeLessThan(500);
    expect(await api.store.list(`annotations/${id}/`)).toEqual([
      `annotations/${id}/input/large-query.csv.gz`,
    ]);
  });

  it('should fail a query that takes longer than ANNOTATION_TIMEOUT_SECONDS', async () => {
    limits(1, 4096);
    const { job } = await finishWhileProbing(await submit(big, 'slow-query.csv.gz'));
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(
      /^the annotation took longer than 1 s \(ANNOTATION_TIMEOUT_SECONDS\) and was stopped/,
    );
  });

  it('should still annotate a normal query after the limits stopped others', async () => {
    limits(900, 4096);
    const { job } = await finishWhileProbing(await submit(await readFile(QUERY), 'pbmc_10x_3p_v3.csv.gz'));
    expect(job.error).toBeNull();
    expect(job.status).toBe('completed');
    expect(job.summary.cells).toBe(210);
  });

  describe('a job whose runner died (found running when picked up)', () => {
    const orphan = async (attempts: number) => {
      const row = await api.db.annotationJob.create({
        data: {
          consortiumId,
          institutionId: a.id,
          modelVersionId,
          inputFileName: 'pbmc_10x_3p_v3.csv.gz',
          inputKey: `annotations/orphan-${attempts}/input/pbmc_10x_3p_v3.csv.gz`,
          inputSha256: (
            await api.store.putBuffer(
              `annotations/orphan-${attempts}/input/pbmc_10x_3p_v3.csv.gz`,
              await readFile(QUERY),
            )
          ).sha256,
          status: 'running',
          attempts,
        },
      });
      const queue = api.app.get<Queue<AnnotationJobData>>(ANNOTATION_QUEUE_TOKEN);
      await queue.add('annotate', { annotationJobId: row.id }, { jobId: row.id });
      return row.id;
    };

    it('should be tried once more', async () => {
      const { job } = await finishWhileProbing(await orphan(1));
      expect(job.status).toBe('completed');
      expect((await api.db.annotationJob.findUniqueOrThrow({ where: { id: job.id } })).attempts).toBe(2);
    });

    it('should fail, not loop, when its runner died twice', async () => {
      const { job } = await finishWhileProbing(await orphan(2));
      expect(job.status).toBe('failed');
      expect(job.error).toMatch(
        /^the annotation stopped unexpectedly twice; the query may be too large for this server \(limits: 900 s ANNOTATION_TIMEOUT_SECONDS, 4096 MB ANNOTATION_MAX_MEMORY_MB\)/,
      );
      expect((await api.db.annotationJob.findUniqueOrThrow({ where: { id: job.id } })).attempts).toBe(2);
    });
  });

  it('should hand a running job back to the queue, uncounted, when the api stops', async () => {
    const row = await api.db.annotationJob.create({
      data: {
        consortiumId,
        institutionId: a.id,
        modelVersionId,
        inputFileName: 'q.csv',
        inputKey: 'annotations/stopping/input/q.csv',
        inputSha256: '0'.repeat(64),
      },
    });
    // A child that never answers: the job is still running when the api stops.
    const script = join(dir, 'idle.mjs');
    await writeFile(script, "process.once('message', () => setInterval(() => {}, 1000));");
    const consumer = new AnnotationConsumer(new AnnotationRunner(api.db, api.store), {
      connections: api.config,
      limits: () => ({ timeoutSeconds: 900, maxMemoryMb: 4096 }),
      log: { info: () => undefined, warn: () => undefined, error: () => undefined },
      script,
    });
    const delayedTo: number[] = [];
    const job = {
      data: { annotationJobId: row.id },
      moveToDelayed: async (timestamp: number) => {
        delayedTo.push(timestamp);
      },
    } as unknown as Job<AnnotationJobData>;
    const processing = consumer.process(job, 'token');
    for (;;) {
      const current = await api.db.annotationJob.findUniqueOrThrow({ where: { id: row.id } });
      if (current.status === 'running') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 200));
    consumer.stop();
    await expect(processing).rejects.toBeInstanceOf(DelayedError);
    expect(delayedTo).toHaveLength(1);
    expect(await api.db.annotationJob.findUniqueOrThrow({ where: { id: row.id } })).toMatchObject({
      status: 'queued',
      attempts: 0,
      error: null,
    });
  });
});
