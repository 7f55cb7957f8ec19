import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiModule } from '../../api/src/api.module';
import { parseApiConfig } from '../../api/src/config/api-config';
import { createTestDatabase, type TestDatabase } from '../../../scripts/local-stack/postgres';
import { startS3Server, type S3Server } from '../../../scripts/local-stack/s3-server';
// @ts-expect-error plain browser ES module without types (served to the page as is)
import * as api from '../public/api.js';
// @ts-expect-error plain browser ES module without types (served to the page as is)
import * as rounds from '../public/rounds.js';
import { DashboardModule } from './dashboard.module';

/**
 * The dashboard inside the real api (Postgres, Redis, an S3 server on loopback), wired the way
 * the api's root module will import it: the page is public under the api's global AuthGuard, and
 * the page's own GraphQL documents and REST calls (public/api.js) work against the real schema.
 */
const POSTGRES = new URL(process.env.TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432');
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const OPERATOR_TOKEN = 'operator-token-for-dashboard-tests';

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 1000 });
    const done = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

const redisUrl = new URL(REDIS_URL);
const servicesUp =
  (await reachable(POSTGRES.hostname, Number(POSTGRES.port || 5432))) &&
  (await reachable(redisUrl.hostname, Number(redisUrl.port || 6379)));

@Module({})
class HostModule {}

describe.skipIf(!servicesUp)('DashboardModule inside the api', () => {
  const suffix = randomBytes(3).toString('hex');
  const queuePrefix = `scp-test-dashboard-${suffix}`;
  let database: TestDatabase;
  let s3: S3Server;
  let app: INestApplication;
  let url: string;
  let adminToken: string;
  let consortiumId: string;
  let running: { id: string };
  let completed: { id: string };
  let versionId: string;
  let finalVersionId: string;

  const client = (token?: string) => ({ token, baseUrl: url });

  beforeAll(async () => {
    database = await createTestDatabase('dashboard');
    s3 = await startS3Server();
    const config = parseApiConfig({
      DATABASE_URL: database.url,
      REDIS_URL,
      S3_ENDPOINT: s3.endPoint,
      S3_PORT: String(s3.port),
      S3_USE_SSL: 'false',
      S3_ACCESS_KEY: s3.accessKey,
      S3_SECRET_KEY: s3.secretKey,
      S3_BUCKET: `dashboard-${suffix}`,
      SCPRIVACY_MASTER_KEY: randomBytes(32).toString('hex'),
      PLATFORM_ADMIN_TOKEN: OPERATOR_TOKEN,
      API_PORT: '0',
      ANNOTATION_WORKER: 'off',
    });
    app = await NestFactory.create(
      { module: HostModule, imports: [ApiModule.forRoot(config, { queuePrefix }), DashboardModule] },
      { logger: ['error'] },
    );
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;

    const created = await api.graphql(
      'mutation($name: String!) { createConsortium(name: $name) { consortium { id } adminToken } }',
      { name: `dashboard ${suffix}` },
      client(OPERATOR_TOKEN),
    );
    consortiumId = created.createConsortium.consortium.id;
    adminToken = created.createConsortium.adminToken;

    // What the aggregator would have recorded: a running federation two rounds in, and a completed one.
    const db = database.prisma;
    const federation = (name: string, status: 'running' | 'completed', currentRound: number) =>
      db.federation.create({
        data: {
          consortiumId,
          name,
          status,
          seed: 7,
          currentRound,
          startedAt: new Date('2025-01-01T00:00:00Z'),
          options: { rounds: 5, localSteps: 1, secureAggregation: true, checkpointEvery: 4 },
          participants: [
            { institution: 'site-a', datasetIds: [] },
            { institution: 'site-b', datasetIds: [] },
          ],
        },
      });
    running = await federation('pbmc running', 'running', 2);
    completed = await federation('pbmc done', 'completed', 5);
    const started = new Date('2025-01-01T00:00:00Z');
    await db.round.createMany({
      data: [
        {
          federationId: running.id,
          number: 1,
          status: 'completed',
          participants: ['site-a', 'site-b'],
          survivors: ['site-a', 'site-b'],
          dropouts: [],
          losses: { 'site-a': 2, 'site-b': 4 },
          timings: { totalMs: 1500 },
          startedAt: started,
          finishedAt: new Date(started.getTime() + 1500),
        },
        {
          federationId: running.id,
          number: 2,
          status: 'completed',
          participants: ['site-a', 'site-b'],
          survivors: ['site-a'],
          dropouts: ['site-b'],
          losses: { 'site-a': 1 },
          timings: { totalMs: 2500 },
          startedAt: started,
          finishedAt: new Date(started.getTime() + 2500),
        },
        {
          federationId: running.id,
          number: 3,
          status: 'training',
          participants: ['site-a', 'site-b'],
          survivors: [],
          dropouts: [],
          startedAt: started,
        },
      ],
    });
    // Training rounds have no landmarks (not exportable); round 0 was pinned by an admin.
    for (const round of [0, 1, 2]) {
      const version = await db.modelVersion.create({
        data: {
          federationId: running.id,
          round,
          objectKey: `federations/${running.id}/models/${round}`,
          sha256: `${round}`.repeat(64),
          sizeBytes: BigInt(1000 + round),
          backend: 'wasm',
          manifest: {},
          pinned: round === 0,
        },
      });
      versionId = version.id;
    }
    // The completed federation's final model has landmarks (exportable), but its objects were
    // never stored here, so the api cannot build its bundle.
    const final = await db.modelVersion.create({
      data: {
        federationId: completed.id,
        round: 5,
        objectKey: `federations/${completed.id}/models/5`,
        sha256: '5'.repeat(64),
        sizeBytes: BigInt(1005),
        backend: 'wasm',
        manifest: {
          genes: { key: `federations/${completed.id}/genes.txt`, sha256: '6'.repeat(64), count: 1 },
        },
        landmarkSets: {
          create: {
            federationId: completed.id,
            institution: 'site-a',
            objectKey: `federations/${completed.id}/landmarks/site-a.json`,
            sha256: 'a'.repeat(64),
            types: ['T'],
            cellCounts: [3],
          },
        },
      },
    });
    finalVersionId = final.id;
  });

  afterAll(async () => {
    await app?.close();
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${queuePrefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
    await s3?.stop();
    await database?.drop();
  });

  it('should serve the page and its files without a token, while the api refuses data without one', async () => {
    for (const path of ['/dashboard', '/dashboard/console.js', '/dashboard/vendor/vega.min.js']) {
      expect((await fetch(`${url}${path}`)).status, path).toBe(200);
    }
    await expect(api.graphql(api.FEDERATIONS, {}, client())).rejects.toMatchObject({ kind: 'unauthorized' });
    await expect(api.graphql(api.ME, {}, client('not-a-token'))).rejects.toMatchObject({
      kind: 'unauthorized',
    });
  });

  it("should sign an admin in and list the consortium's federations", async () => {
    const { me, consortia } = await api.graphql(api.ME, {}, client(adminToken));
    expect(me).toEqual({ kind: 'admin', consortiumId, institutionId: null, institutionName: null });
    expect(consortia.map((c: { id: string }) => c.id)).toEqual([consortiumId]);

    const { federations } = await api.graphql(api.FEDERATIONS, {}, client(adminToken));
    const shown = federations.find((f: { id: string }) => f.id === running.id);
    expect(shown).toMatchObject({ name: 'pbmc running', status: 'running', currentRound: 2 });
    expect(rounds.formatProgress(shown)).toBe('round 2 of 5');
    expect(rounds.institutionsOf(shown)).toEqual(['site-a', 'site-b']);
    expect(shown.startedAt).toBe('2025-01-01T00:00:00.000Z');
  });

  it('should refuse the operator a federation list with a clear 403', async () => {
    await expect(api.graphql(api.FEDERATIONS, {}, client(OPERATOR_TOKEN))).rejects.toMatchObject({
      kind: 'forbidden',
      message: expect.stringContaining('operator'),
    });
  });

  it('should load a federation, its rounds (incrementally) and newest model versions', async () => {
    const first = await api.loadFederation(running.id, { offset: 0, versions: 2 }, client(adminToken));
    expect(first.federation.id).toBe(running.id);
    expect(first.rounds.map((r: { number: number }) => r.number)).toEqual([1, 2, 3]);
    expect(first.rounds[1]).toMatchObject({
      survivors: ['site-a'],
      dropouts: ['site-b'],
      losses: { 'site-a': 1 },
    });
    expect(rounds.roundSeconds(first.rounds[1])).toBe(2.5);
    expect(rounds.meanLoss(first.rounds[0].losses)).toBe(3);
    expect(rounds.lossChartValues(first.rounds)).toHaveLength(5);
    expect(first.modelVersions.map((v: { round: number }) => v.round)).toEqual([2, 1]);
    expect(first.modelVersions[0]).toMatchObject({
      backend: 'wasm',
      sizeBytes: 1002,
      source: 'federation',
      kind: 'latest',
      pinned: false,
      exportable: false,
    });
    expect(first.modelVersions[1]).toMatchObject({ kind: 'intermediate', exportable: false });
    const done = await api.loadFederation(completed.id, { offset: 0, versions: 20 }, client(adminToken));
    expect(done.modelVersions).toEqual([
      expect.objectContaining({ id: finalVersionId, round: 5, kind: 'final', exportable: true }),
    ]);

    const offset = rounds.refetchOffset(first.rounds);
    expect(offset).toBe(2);
    const next = await api.loadFederation(running.id, { offset, versions: 2 }, client(adminToken));
    expect(next.rounds.map((r: { number: number }) => r.number)).toEqual([3]);
    expect(rounds.mergeRounds(first.rounds, next.rounds, offset)).toHaveLength(3);
  });

  it('should cancel a running federation and explain why a completed one cannot be resumed', async () => {
    const { cancelFederation } = await api.graphql(api.CANCEL, { id: running.id }, client(adminToken));
    expect(cancelFederation.id).toBe(running.id);
    await expect(api.graphql(api.RESUME, { id: completed.id }, client(adminToken))).rejects.toMatchObject({
      kind: 'conflict',
      message: expect.stringContaining('has completed'),
    });
  });

  it('should download bundles only with a valid token, passing the server’s reason on', async () => {
    await expect(api.downloadBundle(versionId, client('wrong'))).rejects.toMatchObject({
      kind: 'unauthorized',
    });
    // A training round has no landmarks: a clear 409 saying why.
    await expect(api.downloadBundle(versionId, client(adminToken))).rejects.toMatchObject({
      kind: 'conflict',
      status: 409,
      message: expect.stringContaining('round 2) cannot be exported'),
    });
    // The seeded final version has no weights in the object store, so the api cannot export it.
    await expect(api.downloadBundle(finalVersionId, client(adminToken))).rejects.toMatchObject({
      kind: 'error',
      status: 400,
      message: expect.stringContaining('cannot be exported'),
    });
  });

  it('should pin and unpin a model version as an admin', async () => {
    const pinned = await api.graphql(api.PIN, { id: versionId, pinned: true }, client(adminToken));
    expect(pinned.pinModelVersion).toEqual({ id: versionId, pinned: true, kind: 'latest' });
    const unpinned = await api.graphql(api.PIN, { id: versionId, pinned: false }, client(adminToken));
    expect(unpinned.pinModelVersion.pinned).toBe(false);
  });
  it("should answer every document of the console's pages against the real schema", async () => {
    // A misspelt field would be a GraphQL validation error here, before any browser runs.
    const admin = client(adminToken);
    const name = `console-${suffix}`;
    const registered = await api.graphql(
      api.REGISTER_INSTITUTION,
      { consortiumId, name, displayName: 'Console lab' },
      admin,
    );
    expect(registered.registerInstitution).toMatchObject({
      institution: { name, status: 'registered' },
      token: expect.stringMatching(/^scp_/),
      queueUsername: `worker-${name}`,
    });
    const id = registered.registerInstitution.institution.id;
    const { institutions } = await api.graphql(api.INSTITUTIONS, { consortiumId }, admin);
    expect(institutions.find((i: { id: string }) => i.id === id)).toMatchObject({
      name,
      certificateExpiresAt: null,
      lastSeenAt: null,
      lastRound: null,
      workerOnline: false,
    });
    await expect(
      api.graphql(api.CERTIFY_INSTITUTION, { id, csrPem: 'not a request' }, admin),
    ).rejects.toMatchObject({
      kind: 'bad-input',
    });
    const revoked = await api.graphql(api.REVOKE_INSTITUTION, { id }, admin);
    expect(revoked.revokeInstitution).toEqual({ id, name, status: 'revoked' });
    const settings = await api.graphql(api.CONSORTIUM_SETTINGS, { consortiumId, value: true }, admin);
    expect(settings.updateConsortiumSettings).toEqual({
      id: consortiumId,
      membersSeeInstitutionRounds: true,
    });
    await api.graphql(api.CONSORTIUM_SETTINGS, { consortiumId, value: false }, admin);
    expect((await api.graphql(api.DATASETS, {}, admin)).datasets).toEqual(expect.any(Array));
    const form = await api.graphql(api.FEDERATION_FORM, { consortiumId }, admin);
    expect(form.trainingPresets.map((p: { name: string }) => p.name)).toContain('published');
    const models = await api.graphql(api.MODEL_VERSIONS, {}, admin);
    expect(models.modelVersions.map((v: { id: string }) => v.id)).toContain(finalVersionId);
    expect((await api.graphql(api.ANNOTATION_JOBS, {}, admin)).annotationJobs).toEqual(expect.any(Array));
  });
});
