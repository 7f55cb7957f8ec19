import { rm } from 'node:fs/promises';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readExpression } from '@fl/formats';
import { annotateMatrix, formatResultTxt } from '@fl/federation';
import { institutionQueueName, QUEUE_PREFIX } from '@fl/platform';
import { redisConnection } from '@fl/queue';
import { Stack } from '../../scripts/local-stack/stack';
import {
  downloadBundle,
  embeddedModel,
  EXAMPLE,
  modelVersions,
  rounds,
  startFederation,
  tempDir,
  waitForFederation,
} from './e2e-helpers';

/**
 * End to end, with api, aggregator and three workers as separate processes (dist/ bundles) on
 * real Postgres, Redis and an S3 server over HTTP: upload references, run a secure federation,
 * compare its model with the embedded run's, annotate a query through REST; and a federation of
 * one institution, which trains without secure aggregation.
 */

const TRAINING = { rounds: 3, seed: 11, hiddenSize: 48, embeddingSize: 12, learningRate: 0.0005 };

describe('the platform end to end', () => {
  let stack: Stack;
  let dir: string;

  beforeAll(async () => {
    dir = await tempDir('e2e');
    stack = await new Stack({
      dir,
      consortium: 'e2e consortium',
      institutions: EXAMPLE.institutions,
    }).start();
  }, 240_000);

  /** Uploads the example query for annotation with a model version; its result.txt. */
  async function annotateThroughRest(modelVersionId: string): Promise<string> {
    const upload = await stack.upload('/api/v1/annotations', EXAMPLE.query, stack.adminToken, {
      modelVersionId,
    });
    expect(upload.status).toBe(202);
    const job = (await upload.json()) as { id: string };
    let status = '';
    for (let i = 0; i < 600 && status !== 'completed'; i++) {
      const res = await fetch(`${stack.apiUrl}/api/v1/annotations/${job.id}`, {
        headers: { authorization: `Bearer ${stack.adminToken}` },
      });
      status = ((await res.json()) as { status: string }).status;
      if (status === 'failed') throw new Error('annotation job failed');
      if (status !== 'completed') await new Promise((r) => setTimeout(r, 200));
    }
    const result = await fetch(`${stack.apiUrl}/api/v1/annotations/${job.id}/result.txt`, {
      headers: { authorization: `Bearer ${stack.adminToken}` },
    });
    expect(result.status).toBe(200);
    return result.text();
  }

  afterAll(async () => {
    await stack?.stop();
    if (!process.env.KEEP_E2E_DIR) await rm(dir, { recursive: true, force: true });
  });

  it('trains a secure federation whose model equals the embedded run bit for bit, and annotates through REST', async () => {
    const id = await startFederation(stack, {
      name: 'e2e',
      ...TRAINING,
      secureAggregation: true,
      roundDeadlineSeconds: 120,
    });
    await waitForFederation(stack, id, (f) => f.status === 'completed');

    const history = await rounds(stack, id);
    expect(history.map((r) => r.status)).toEqual(['completed', 'completed', 'completed']);
    expect(history.every((r) => r.survivors.length === 3 && r.dropouts.length === 0)).toBe(true);
    // 3 rounds keep every round (checkpointEvery ceil(3 / 10) = 1); the initial model goes.
    const versions = await modelVersions(stack, id);
    expect(versions.map((v) => v.round)).toEqual([1, 2, 3]);
    const final = versions[2];

    const distributed = await downloadBundle(stack, final.id);
    const embedded = await embeddedModel({ ...TRAINING, backend: 'wasm', secureAggregation: {} });
    expect(
      Buffer.from(distributed.model.params.buffer).equals(Buffer.from(embedded.model.params.buffer)),
    ).toBe(true);
    expect(distributed.model.genes).toEqual(embedded.model.genes);
    expect(distributed.model.landmarks.map((l) => Array.from(l.landmarks))).toEqual(
      embedded.model.landmarks.map((l) => Array.from(l.landmarks)),
    );

    // Annotation through REST, against the final model version.
    const query = await readExpression(EXAMPLE.query, { role: 'query' });
    expect(await annotateThroughRest(final.id)).toBe(
      formatResultTxt([await annotateMatrix(embedded.model, query)]),
    );
  });

  it('chooses the variable genes through a secure gene-statistics round, trains the embedded ensemble bit for bit and annotates with it', async () => {
    // pbmc-mini's institutions unite about 1,000 genes: the preset's 2,000 per institution would
    // keep them all; 100 per institution keeps 300. Two models (the preset's three cost time).
    const id = await startFederation(stack, {
      name: 'e2e-variable-genes-ensemble',
      ...TRAINING,
      preset: 'variable-genes-ensemble',
      variableGenes: 100,
      ensembleSize: 2,
      secureAggregation: true,
      roundDeadlineSeconds: 120,
    });
    await waitForFederation(stack, id, (f) => f.status === 'completed');
    const { federation } = await stack.gql<{ federation: { geneCount: number } }>(
      'query($id: ID!) { federation(id: $id) { geneCount } }',
      { id },
      stack.adminToken,
    );
    expect(federation.geneCount).toBe(300);
    const final = (await modelVersions(stack, id)).find((v) => v.round === 3)!;
    expect(final.models).toBe(2);
    const distributed = await downloadBundle(stack, final.id);
    const embedded = await embeddedModel({
      ...TRAINING,
      variableGenes: 100,
      ensembleSize: 2,
      backend: 'wasm',
      secureAggregation: {},
    });
    expect(distributed.model.genes).toEqual(embedded.model.genes);
    expect(distributed.manifest.options).toMatchObject({ variableGenes: 100, ensembleSize: 2 });
    const models = (m: typeof embedded.model) => [m, ...(m.ensemble ?? [])];
    expect(models(distributed.model)).toHaveLength(2);
    models(embedded.model).forEach((m, k) => {
      const d = models(distributed.model)[k];
      expect(Buffer.from(d.params.buffer).equals(Buffer.from(m.params.buffer)), `model ${k}`).toBe(true);
      expect(d.landmarks.map((l) => Array.from(l.landmarks))).toEqual(
        m.landmarks.map((l) => Array.from(l.landmarks)),
      );
    });
    const query = await readExpression(EXAMPLE.query, { role: 'query' });
    expect(await annotateThroughRest(final.id)).toBe(
      formatResultTxt([await annotateMatrix(embedded.model, query)]),
    );
  });

  it('trains a federation of one institution without secure aggregation (asked by default), records why, and finishes', async () => {
    const solo = EXAMPLE.institutions[0];
    const id = await startFederation(stack, {
      name: 'e2e-solo',
      ...TRAINING,
      institutions: [solo.name],
      roundDeadlineSeconds: 120,
    });
    await waitForFederation(stack, id, (f) => f.status === 'completed');

    const { federation } = await stack.gql<{ federation: { options: Record<string, unknown> } }>(
      'query($id: ID!) { federation(id: $id) { options } }',
      { id },
      stack.adminToken,
    );
    expect(federation.options).toMatchObject({
      secureAggregation: false,
      secureAggregationSkipped: { reason: 'single-institution' },
    });
    const history = await rounds(stack, id);
    expect(history.map((r) => [r.status, r.survivors])).toEqual([
      ['completed', [solo.name]],
      ['completed', [solo.name]],
      ['completed', [solo.name]],
    ]);
    // The final version (retention keeps it; with 3 rounds every round is a checkpoint).
    const versions = await modelVersions(stack, id);
    const final = versions.find((v) => v.round === 3)!;
    expect(final).toBeDefined();
    const distributed = await downloadBundle(stack, final.id);
    expect(distributed.manifest.options).toMatchObject({
      aggregation: 'fedavg-uniform',
      secureAggregationSkipped: { reason: 'single-institution' },
    });
    const plain = await embeddedModel({ ...TRAINING, backend: 'wasm', secureAggregation: false }, [solo]);
    expect(Buffer.from(distributed.model.params.buffer).equals(Buffer.from(plain.model.params.buffer))).toBe(
      true,
    );
    expect(distributed.model.landmarks.map((l) => Array.from(l.landmarks))).toEqual(
      plain.model.landmarks.map((l) => Array.from(l.landmarks)),
    );
  });

  it("refuses an institution's token on another institution's data, and its queue credentials on another queue", async () => {
    const [a, b] = [...stack.institutions.values()];
    const other = await fetch(`${stack.apiUrl}/api/v1/datasets/${b.datasetIds[0]}`, {
      headers: { authorization: `Bearer ${a.token}` },
    });
    expect([403, 404]).toContain(other.status);
    const own = await fetch(`${stack.apiUrl}/api/v1/datasets/${a.datasetIds[0]}`, {
      headers: { authorization: `Bearer ${a.token}` },
    });
    expect(own.status).toBe(200);
    const upload = await stack.upload(`/api/v1/institutions/${b.name}/datasets`, EXAMPLE.query, a.token);
    expect([403, 404]).toContain(upload.status);
    const noToken = await fetch(`${stack.apiUrl}/api/v1/datasets`);
    expect(noToken.status).toBe(401);

    const connection = redisConnection(
      `redis://${a.queueUsername}:${a.queuePassword}@127.0.0.1:${stack.redis.port}`,
    );
    const queueOfB = new Queue(institutionQueueName(b.name), { connection, prefix: QUEUE_PREFIX });
    try {
      await expect(queueOfB.getJobs(['completed', 'waiting'])).rejects.toThrow(/NOPERM|permission/i);
      await expect(queueOfB.add('train', {} as never)).rejects.toThrow(/NOPERM|permission/i);
    } finally {
      await queueOfB.close();
      connection.disconnect();
    }
  });
});
