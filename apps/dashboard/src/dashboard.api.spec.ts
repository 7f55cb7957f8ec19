import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiModule } from '../../api/src/api.module';
import { parseApiConfig } from '../../api/src/config/api-config';
import { createTestDatabase, type TestDatabase } from '../../../scripts/local-stack/postgres';
import { startS3Server, type S3Server } from '../../../scripts/local-stack/s3-server';
// @ts-expect-error plain browser ES module without types (served to the page as is)
import * as api from '../public/api.js';
// @ts-expect-error plain browser ES module without types (served to the page as is)
import * as rounds from '../public/rounds.js';
import { DashboardModule } from './dashboard.module';
import { fakeBrowser, type FakeElement } from './testing/fake-dom';

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

/** Waits for the page to get somewhere (it works asynchronously, like in a browser). */
async function until(what: string, condition: () => boolean, timeoutMs = 6000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const cells = (row: FakeElement) => row.children.map((c) => c.textContent.replace(/\s+/g, ' ').trim());

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
  let pinnedVersionId: string;
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
      if (round === 0) pinnedVersionId = version.id;
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
    for (const path of ['/dashboard', '/dashboard/dashboard.js', '/dashboard/vendor/vega.min.js']) {
      expect((await fetch(`${url}${path}`)).status, path).toBe(200);
    }
    await expect(api.graphql(api.FEDERATIONS, {}, client())).rejects.toMatchObject({ kind: 'unauthorized' });
    await expect(api.graphql(api.ME, {}, client('not-a-token'))).rejects.toMatchObject({
      kind: 'unauthorized',
    });
  });

  it("should sign an admin in and list the consortium's federations", async () => {
    const { me, consortia } = await api.graphql(api.ME, {}, client(adminToken));
    expect(me).toEqual({ kind: 'admin', consortiumId, institutionName: null });
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
  it('should run the page itself: sign in, pick a federation, follow its rounds, act, sign out', async () => {
    const browser = fakeBrowser(readFileSync('apps/dashboard/public/index.html', 'utf8'));
    const realFetch = globalThis.fetch;
    vi.stubGlobal('document', browser.document);
    vi.stubGlobal('window', {}); // no vega: the chart is tested in rounds.spec.ts
    vi.stubGlobal('sessionStorage', browser.sessionStorage);
    vi.stubGlobal('location', browser.location);
    vi.stubGlobal('history', browser.history);
    vi.stubGlobal('confirm', () => true);
    // The page calls /graphql and /api/v1 relative to its own origin, as a browser resolves them.
    vi.stubGlobal('fetch', (path: string, init?: RequestInit) => realFetch(new URL(path, url), init));
    const $ = (id: string) => browser.byId(id);
    try {
      // @ts-expect-error plain browser ES module without types (served to the page as is)
      await import('../public/dashboard.js');
      expect($('sign-in').hidden).toBe(false);
      expect($('federations').hidden).toBe(true);

      $('token').value = 'not-a-token';
      await $('token-form').dispatch('submit');
      await until('the refusal', () => $('alert').textContent.includes('refused this token (401)'));
      expect(browser.sessionStorage.size).toBe(0);

      $('token').value = ` ${adminToken} `;
      await $('token-form').dispatch('submit');
      await until('the federations', () => $('federation-rows').children.length === 2);
      expect($('token').value).toBe('');
      expect([...browser.sessionStorage.values()]).toEqual([adminToken]);
      expect($('alert').hidden).toBe(true);
      expect($('sign-in').hidden).toBe(true);
      expect($('who').textContent).toBe(`Signed in as admin · dashboard ${suffix}`);
      const rows = $('federation-rows').children as FakeElement[];
      expect(rows.map(cells)).toEqual([
        ['pbmc done', 'completed', 'round 5 of 5', expect.any(String), '2: site-a, site-b'],
        ['pbmc running', 'running', 'round 2 of 5', expect.any(String), '2: site-a, site-b'],
      ]);

      const [open] = $('federation-rows').find(
        (e) => e.tagName === 'BUTTON' && e.textContent === 'pbmc running',
      );
      await open.click();
      await until('the rounds', () => $('round-rows').children.length === 3);
      expect($('federation').hidden).toBe(false);
      expect($('federation-title').textContent).toBe('pbmc running');
      expect($('federation-summary').textContent).toMatch(
        /round 2 of 5 · 2 institutions · secure aggregation · created/,
      );
      expect(browser.location.hash).toBe(`#federation=${running.id}`);
      expect(cells($('rounds-head'))).toEqual([
        'Round',
        'Status',
        'Survivors / dropouts',
        'Mean loss',
        'Loss site-a',
        'Loss site-b',
        'Seconds',
      ]);
      expect(($('round-rows').children as FakeElement[]).map(cells)).toEqual([
        ['3', 'training', '0 / 0', '—', '—', '—', '—'],
        ['2', 'completed', '1 / 1 (dropped: site-b)', '1.0000', '1.0000', '—', '2.50'],
        ['1', 'completed', '2 / 0', '3.0000', '2.0000', '4.0000', '1.50'],
      ]);
      // No Download for training rounds (no landmarks); an admin gets a pin toggle.
      const versionRows = () => ($('version-rows').children as FakeElement[]).map(cells);
      expect(versionRows()).toEqual([
        [
          '2',
          '222222222222',
          'wasm',
          '1002 B',
          expect.any(String),
          'latest round (replaced by the next one)',
          'Pin',
        ],
        ['1', '111111111111', 'wasm', '1001 B', expect.any(String), 'round', 'Pin'],
        ['0', '000000000000', 'wasm', '1000 B', expect.any(String), 'round · pinned', 'Unpin'],
      ]);
      const buttonsOf = (text: string) =>
        $('version-rows').find((e) => e.tagName === 'BUTTON' && e.textContent === text);
      expect(buttonsOf('Download')).toEqual([]);
      const [pinRound1] = $('version-rows').find(
        (e) => e.getAttribute('aria-label') === 'Pin the model version of round 1',
      );
      expect(pinRound1.getAttribute('aria-pressed')).toBe('false');
      await pinRound1.click();
      await until('the pin', () => versionRows()[1]?.[5] === 'round · pinned');
      expect(versionRows()[1][6]).toBe('Unpin');
      expect($('status').textContent).toBe('Pinned the model version of round 1.');
      const round1 = await database.prisma.modelVersion.findFirstOrThrow({
        where: { federationId: running.id, round: 1 },
      });
      expect(round1.pinned).toBe(true);
      expect(
        (await database.prisma.modelVersion.findUniqueOrThrow({ where: { id: pinnedVersionId } })).pinned,
      ).toBe(true);
      expect($('loss-chart').textContent).toContain('chart library did not load');
      expect($('controls').hidden).toBe(false);
      expect($('cancel').disabled).toBe(false);
      expect($('resume').disabled).toBe(true);
      expect($('federation-updated').textContent).toContain('refreshing every 2 s');

      // The aggregator finishes round 3 and records round 4: the page shows it on its next poll.
      await database.prisma.round.update({
        where: { federationId_number: { federationId: running.id, number: 3 } },
        data: {
          status: 'completed',
          survivors: ['site-a', 'site-b'],
          losses: { 'site-a': 0.5, 'site-b': 1.5 },
        },
      });
      await database.prisma.round.create({
        data: {
          federationId: running.id,
          number: 4,
          status: 'training',
          participants: ['site-a', 'site-b'],
          survivors: [],
          dropouts: [],
        },
      });
      await until('the next poll', () => $('round-rows').children.length === 4, 8000);
      expect(cells($('round-rows').children[1] as FakeElement)).toEqual([
        '3',
        'completed',
        '2 / 0',
        '1.0000',
        '0.5000',
        '1.5000',
        '—',
      ]);

      await $('cancel').click();
      await until('the cancel request', () =>
        $('status').textContent.includes('Asked the aggregator to cancel'),
      );

      // The completed federation's final model is the one that can be downloaded.
      const [openDone] = $('federation-rows').find(
        (e) => e.tagName === 'BUTTON' && e.textContent === 'pbmc done',
      );
      await openDone.click();
      await until('the final model', () => versionRows()[0]?.[0] === '5');
      expect(versionRows()).toEqual([
        ['5', '555555555555', 'wasm', '1005 B', expect.any(String), 'final model', 'DownloadPin'],
      ]);
      const downloadButtons = () =>
        $('version-rows').find((e) => e.tagName === 'BUTTON' && e.textContent.startsWith('Download'));
      const [download] = downloadButtons();
      expect(download.getAttribute('aria-label')).toBe('Download the model bundle of round 5');
      const clicked = download.click();
      expect(downloadButtons()[0]).toMatchObject({ disabled: true, textContent: 'Downloading…' });
      await clicked;
      expect($('alert').textContent).toContain('cannot be exported');
      expect(downloadButtons()[0]).toMatchObject({ disabled: false, textContent: 'Download' });

      await $('sign-out').click();
      expect(browser.sessionStorage.size).toBe(0);
      expect($('sign-in').hidden).toBe(false);
      expect($('federation').hidden).toBe(true);
      expect($('status').textContent).toBe('Signed out.');
    } finally {
      vi.unstubAllGlobals();
    }
  });
});
