import { readFile } from 'node:fs/promises';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@fl/engine';
import { InstitutionRuntime, objectKeys, type TrainJob } from '@fl/platform';
import {
  InstitutionQueues,
  loadBullmqScripts,
  redisConnection,
  startInstitutionWorker,
  workerRedisConnection,
  type InstitutionWorker,
} from '@fl/queue';
import { downloadVerified, uploadTo } from '@fl/storage';
import { FederationRunner } from '../../apps/aggregator/src/federation-runner';
import { loadDataset } from '../../apps/trainer-worker/src/dataset-loader';
import { deleteQueueKeys, institutionUrl } from '../../libs/queue/src/testing/redis';
import { EXAMPLE_CONSORTIUM } from '../../scripts/local-stack/stack';
import {
  createConsortium,
  formWith,
  messageOf,
  REDIS_URL,
  registerInstitution,
  startApi,
  type ApiHarness,
  type RegisteredInstitution,
} from './support/api-harness';

/**
 * Model-version retention on the real platform pieces: the api in-process on Postgres, Redis and
 * an S3 server; the aggregator's FederationRunner (BullMQ queues, Prisma state, the object
 * store); two institutions' workers on their own queue users, reading their uploaded datasets
 * through presigned URLs. A 5-round federation keeping every 2nd round is stopped after round 3,
 * round 3 is pinned through the api, the federation resumes from it and completes.
 */

interface VersionView {
  id: string;
  round: number;
  kind: string;
  pinned: boolean;
  exportable: boolean;
  parentId: string | null;
}

const TRAINING = {
  rounds: 5,
  checkpointEvery: 2,
  seed: 5,
  hiddenSize: 16,
  embeddingSize: 4,
  secureAggregation: false,
  roundDeadlineSeconds: 120,
};

describe('api + aggregator: model-version retention', () => {
  let api: ApiHarness;
  let x: { id: string; adminToken: string };
  let sites: RegisteredInstitution[];
  let admin: Redis;
  let queues: InstitutionQueues;
  let runner: FederationRunner;
  const workers: InstitutionWorker[] = [];
  const workerConnections: Redis[] = [];
  /** Called with every train job a worker takes (the test stops the federation from here). */
  let onTrain: (job: TrainJob) => Promise<void> = async () => undefined;

  const versions = async (federationId: string) => {
    const data = await api.gqlOk<{ federation: { modelVersions: VersionView[] } }>(
      'query($id: ID!) { federation(id: $id) { modelVersions { id round kind pinned exportable parentId } } }',
      { id: federationId },
      x.adminToken,
    );
    return data.federation.modelVersions;
  };
  const modelObjects = (federationId: string) => api.store.list(objectKeys.models(federationId));
  const pin = (id: string, pinned: boolean, token = x.adminToken) =>
    api.gql<{ pinModelVersion: VersionView }>(
      'mutation($id: ID!, $pinned: Boolean!) { pinModelVersion(id: $id, pinned: $pinned) { id round kind pinned } }',
      { id, pinned },
      token,
    );
  const start = (input: Record<string, unknown>) =>
    api.gql<{ startFederation: { id: string; options: Record<string, unknown> } }>(
      'mutation($input: StartFederationInput!) { startFederation(input: $input) { id options } }',
      { input: { consortiumId: x.id, name: 'retention', institutions: sites.map((s) => s.name), ...input } },
      x.adminToken,
    );

  beforeAll(async () => {
    api = await startApi('model_retention');
    x = await createConsortium(api, 'Retention');
    sites = [];
    for (const [i, spec] of EXAMPLE_CONSORTIUM.institutions.slice(0, 2).entries()) {
      const site = await registerInstitution(api, x.id, x.adminToken, `ret-${i}`);
      const file = spec.datasets[0];
      const res = await api.rest(`/api/v1/institutions/${site.name}/datasets`, {
        method: 'POST',
        token: site.token,
        body: formWith(file.split('/').pop()!, await readFile(file)),
      });
      expect(res.status, await res.clone().text()).toBe(201);
      sites.push(site);
    }

    await initBackend('cpu');
    admin = redisConnection(REDIS_URL);
    await loadBullmqScripts(admin); // the aggregator's job: workers may only EVALSHA
    for (const site of sites) {
      const runtime = new InstitutionRuntime({
        institution: site.name,
        backend: 'cpu',
        loadDataset: (source) => loadDataset(source, undefined),
        readObject: (o) => downloadVerified(o.url, o.sha256),
        writeObject: async (t, data) => ({ key: t.key, ...(await uploadTo(t.url, data)) }),
      });
      const connection = workerRedisConnection(institutionUrl(site.queueUsername, site.queuePassword));
      workerConnections.push(connection);
      workers.push(
        startInstitutionWorker({
          institution: site.name,
          connection,
          handlers: {
            describe: (d) => runtime.describe(d),
            train: async (d) => {
              await onTrain(d);
              return runtime.train(d);
            },
            landmarks: (d) => runtime.landmarks(d),
          },
          lockDurationMs: 10_000,
          onError: () => undefined,
        }),
      );
    }
    queues = new InstitutionQueues(redisConnection(REDIS_URL), { pollIntervalMs: 100 });
    runner = new FederationRunner({
      prisma: api.db,
      queues,
      store: api.store,
      publisher: admin,
      presignTtlSeconds: 600,
      online: async () => true,
      log: () => undefined,
    });
  });

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.close()));
    for (const connection of workerConnections) connection.disconnect();
    await queues?.close();
    for (const site of sites ?? []) await deleteQueueKeys(admin, site.name);
    admin?.disconnect();
    await api?.close();
  });

  it('refuses a checkpointEvery outside 1..rounds, naming the field', async () => {
    for (const checkpointEvery of [0, 6, -3]) {
      const result = await start({ ...TRAINING, checkpointEvery });
      expect(result.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
      expect(result.errors?.[0].message).toMatch(
        new RegExp(
          `checkpointEvery: must be a whole number between 1 and rounds \\(5\\), got ${checkpointEvery}`,
        ),
      );
    }
    const fractional = await start({ ...TRAINING, checkpointEvery: 1.5 });
    expect(fractional.errors?.[0].message).toMatch(/checkpointEvery/);
  });

  it('stores the default checkpointEvery, ceil(rounds / 10), with the federation', async () => {
    const result = await start({ ...TRAINING, rounds: 300, checkpointEvery: undefined });
    expect(result.errors).toBeUndefined();
    expect(result.data!.startFederation.options).toMatchObject({ rounds: 300, checkpointEvery: 30 });
    // Nothing runs it (no aggregator consumes the api's control queue here): mark it as stopped.
    await api.db.federation.update({
      where: { id: result.data!.startFederation.id },
      data: { status: 'cancelled' },
    });
  });

  it('keeps rounds 2, 4 and 5 and a pinned round 3, deletes the rest, resumes from the latest kept round', async () => {
    const started = await start(TRAINING);
    expect(started.errors).toBeUndefined();
    const id = started.data!.startFederation.id;

    // Stop the federation while round 3 trains: the aggregator finishes the round and stops.
    onTrain = async (job) => {
      if (job.round === 3) {
        await api.db.federation.updateMany({
          where: { id, status: 'running' },
          data: { status: 'cancelled' },
        });
      }
    };
    await runner.run(id);
    onTrain = async () => undefined;
    expect(await api.db.federation.findUniqueOrThrow({ where: { id } })).toMatchObject({
      status: 'cancelled',
      currentRound: 3,
    });
    // Round 3 is neither a checkpoint nor pinned, but the federation resumes from it: kept.
    let stored = await versions(id);
    expect(stored.map((v) => [v.round, v.kind, v.pinned, v.exportable])).toEqual([
      [2, 'checkpoint', false, false],
      [3, 'latest', false, false],
    ]);
    expect(await modelObjects(id)).toEqual([objectKeys.model(id, 2), objectKeys.model(id, 3)]);

    // A checkpoint has no landmarks: its download is a clear 409, not a 500.
    const checkpoint = await api.rest(`/api/v1/model-versions/${stored[0].id}/bundle`, {
      token: x.adminToken,
    });
    expect(checkpoint.status).toBe(409);
    expect(await messageOf(checkpoint)).toMatch(
      /round 2\) cannot be exported: it is a training checkpoint without landmark sets/,
    );

    // Pinning is for the consortium's admin.
    const round3 = stored[1];
    const byMember = await pin(round3.id, true, sites[0].token);
    expect(byMember.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect(byMember.errors?.[0].message).toMatch(/Only a consortium administrator may pin model versions/);
    const pinned = await pin(round3.id, true);
    expect(pinned.errors).toBeUndefined();
    expect(pinned.data!.pinModelVersion).toMatchObject({ round: 3, kind: 'latest', pinned: true });

    // Resume (what the aggregator's control worker does), from round 3's model.
    await api.db.federation.update({ where: { id }, data: { status: 'pending' } });
    await runner.run(id);
    const fed = await api.db.federation.findUniqueOrThrow({ where: { id } });
    expect(fed.error).toBeNull();
    expect(fed.status).toBe('completed');
    const rounds = await api.db.round.findMany({ where: { federationId: id }, orderBy: { number: 'asc' } });
    expect(rounds.map((r) => [r.number, r.status])).toEqual([
      [1, 'completed'],
      [2, 'completed'],
      [3, 'completed'],
      [4, 'completed'],
      [5, 'completed'],
    ]);

    stored = await versions(id);
    expect(stored.map((v) => [v.round, v.kind, v.pinned, v.exportable])).toEqual([
      [2, 'checkpoint', false, false],
      [3, 'intermediate', true, false],
      [4, 'checkpoint', false, false],
      [5, 'final', false, true],
    ]);
    expect(await modelObjects(id)).toEqual([2, 3, 4, 5].map((r) => objectKeys.model(id, r)));
    // The lineage skips the deleted rounds: 5 -> 4 -> 3 -> 2 -> (round 0 and 1 are gone).
    const byRound = new Map(stored.map((v) => [v.round, v]));
    expect([5, 4, 3, 2].map((r) => byRound.get(r)!.parentId)).toEqual([
      byRound.get(4)!.id,
      byRound.get(3)!.id,
      byRound.get(2)!.id,
      null,
    ]);

    // The final model exports; the REST listing says which ones can.
    const final = byRound.get(5)!;
    const bundle = await api.rest(`/api/v1/model-versions/${final.id}/bundle`, { token: sites[1].token });
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toBe('application/x-tar');
    expect((await bundle.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    const listed = await api.rest(`/api/v1/model-versions?federationId=${id}`, { token: sites[0].token });
    expect(listed.status).toBe(200);
    const rows = (await listed.json()) as VersionView[];
    expect(rows.map((v) => [v.round, v.exportable, v.kind]).sort()).toEqual([
      [2, false, 'checkpoint'],
      [3, false, 'intermediate'],
      [4, false, 'checkpoint'],
      [5, true, 'final'],
    ]);

    // Unpinning a finished federation's version does not delete it (no round prunes any more).
    const unpinned = await pin(round3.id, false);
    expect(unpinned.data!.pinModelVersion).toMatchObject({ round: 3, pinned: false });
    expect((await versions(id)).map((v) => v.round)).toEqual([2, 3, 4, 5]);
    const audit = await api.db.auditLog.findMany({
      where: { target: `model-version:${round3.id}` },
      orderBy: { at: 'asc' },
    });
    expect(audit.map((a) => a.action)).toEqual(['model.pin', 'model.unpin']);
  });

  it('answers 404 for a pin of a version retention already deleted', async () => {
    const result = await pin('00000000-0000-4000-8000-000000000000', true);
    expect(result.errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });
});
