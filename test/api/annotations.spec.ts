import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { annotateMatrix, formatResultTxt, loadBundle, type FederatedModel } from '@fl/federation';
import { readExpression } from '@fl/formats';
import { AnnotationRunner } from '../../apps/api/src/annotations/annotation-runner';
import {
  createConsortium,
  formWith,
  messageOf,
  registerInstitution,
  startApi,
  type ApiHarness,
  type RegisteredInstitution,
} from './support/api-harness';
import { makeBundleTar, QUERY } from './support/model-bundle';

interface ModelVersionJson {
  id: string;
  source: string;
  round: number;
  sha256: string;
  manifest: { consortiumId: string; genes: { count: number } };
}
interface JobJson {
  id: string;
  status: string;
  error: string | null;
  summary: {
    cells: number;
    labelCounts: Record<string, number>;
    unassigned: number;
    autoThresholds?: Record<string, number>;
  };
  rejectThreshold: number | null;
  autoReject: boolean;
}

describe('api: model bundles and annotation jobs', () => {
  let api: ApiHarness;
  let dir: string;
  let bundle: { tar: string; bundleDir: string; model: FederatedModel };
  let x: { id: string; adminToken: string };
  let y: { id: string; adminToken: string };
  let a: RegisteredInstitution;
  let b: RegisteredInstitution;
  let z: RegisteredInstitution;
  let version: ModelVersionJson;
  let job: JobJson;

  const importBundle = async (file: string, token: string, name = 'model.tar') =>
    api.rest('/api/v1/model-versions/import', {
      method: 'POST',
      token,
      body: formWith(name, await readFile(file)),
    });

  const submit = async (
    token: string,
    fields: Record<string, string>,
    name = 'pbmc_10x_3p_v3.csv.gz',
    data?: Uint8Array | string,
  ) =>
    api.rest('/api/v1/annotations', {
      method: 'POST',
      token,
      body: formWith(name, data ?? (await readFile(QUERY)), fields),
    });

  async function waitForJob(id: string, token: string): Promise<JobJson> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const current = (await (await api.rest(`/api/v1/annotations/${id}`, { token })).json()) as JobJson;
      if (current.status === 'completed' || current.status === 'failed') return current;
      if (Date.now() > deadline) throw new Error(`annotation job ${id} still ${current.status}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'api-annotations-'));
    [api, bundle] = await Promise.all([startApi('annotations'), makeBundleTar(dir)]);
    x = await createConsortium(api, 'Annotating X');
    y = await createConsortium(api, 'Annotating Y');
    a = await registerInstitution(api, x.id, x.adminToken, 'na');
    b = await registerInstitution(api, x.id, x.adminToken, 'nb');
    z = await registerInstitution(api, y.id, y.adminToken, 'nz');
  });

  afterAll(async () => {
    await api?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  describe('POST /model-versions/import', () => {
    it('should import a command-line bundle as a model version of the consortium', async () => {
      const res = await importBundle(bundle.tar, a.token);
      expect(res.status).toBe(201);
      version = (await res.json()) as ModelVersionJson;
      expect(version).toMatchObject({ source: 'import', round: 3, manifest: { consortiumId: x.id } });
      expect(version.manifest.genes.count).toBe(bundle.model.genes.length);
      const sets = await api.db.landmarkSet.findMany({ where: { modelVersionId: version.id } });
      expect(sets.map((s) => s.institution).sort()).toEqual(
        bundle.model.landmarks.map((l) => l.institution).sort(),
      );
      const keys = await api.store.list(`models/${version.id}/`);
      expect(keys).toContain(`models/${version.id}/weights.bin`);
      expect(keys).toContain(`models/${version.id}/genes.txt`);
    });

    it('should refuse a damaged bundle and keep nothing', async () => {
      const damaged = join(dir, 'damaged');
      execFileSync('cp', ['-r', bundle.bundleDir, damaged]);
      await writeFile(join(damaged, 'genes.txt'), 'edited\n');
      execFileSync('tar', ['-cf', join(dir, 'damaged.tar'), '-C', dir, 'damaged']);
      const before = await api.db.modelVersion.count();
      const res = await importBundle(join(dir, 'damaged.tar'), a.token, 'damaged.tar');
      expect(res.status).toBe(400);
      expect(await messageOf(res)).toMatch(/genes\.txt: checksum mismatch/);
      const notTar = await api.rest('/api/v1/model-versions/import', {
        method: 'POST',
        token: a.token,
        body: formWith('notes.tar', 'this is not a tar archive at all'.repeat(40)),
      });
      expect(notTar.status).toBe(400);
      expect(await messageOf(notTar)).toMatch(/^notes\.tar: /);
      expect(await api.db.modelVersion.count()).toBe(before);
      expect((await api.store.list('models/')).filter((k) => !k.startsWith(`models/${version.id}/`))).toEqual(
        [],
      );
    });

    it("should hide a consortium's model versions from other consortia", async () => {
      const query = 'query($id: ID!) { modelVersion(id: $id) { id landmarkSets { institution types } } }';
      const mine = await api.gqlOk<{ modelVersion: { landmarkSets: unknown[] } }>(
        query,
        { id: version.id },
        b.token,
      );
      expect(mine.modelVersion.landmarkSets).toHaveLength(bundle.model.landmarks.length);
      expect((await api.gql(query, { id: version.id }, z.token)).errors?.[0].extensions?.code).toBe(
        'NOT_FOUND',
      );
      expect((await api.gql(query, { id: version.id }, y.adminToken)).errors?.[0].extensions?.code).toBe(
        'NOT_FOUND',
      );
      const list = await api.gqlOk<{ modelVersions: unknown[] }>(
        '{ modelVersions { id } }',
        {},
        y.adminToken,
      );
      expect(list.modelVersions).toEqual([]);
      expect((await api.rest(`/api/v1/model-versions/${version.id}/bundle`, { token: z.token })).status).toBe(
        404,
      );
    });
  });

  describe('annotation jobs', () => {
    it('should annotate a query file as annotateMatrix does', async () => {
      const res = await submit(a.token, { modelVersionId: version.id });
      expect(res.status).toBe(202);
      const accepted = (await res.json()) as { id: string; status: string };
      expect(accepted.status).toBe('queued');
      job = await waitForJob(accepted.id, a.token);
      expect(job.error).toBeNull();
      expect(job.status).toBe('completed');

      const matrix = await readExpression(QUERY, { role: 'query' });
      const expected = formatResultTxt([await annotateMatrix(bundle.model, matrix)]);
      const resultTxt = await api.rest(`/api/v1/annotations/${job.id}/result.txt`, { token: a.token });
      expect(resultTxt.status).toBe(200);
      expect(await resultTxt.text()).toBe(expected);
      expect(job.summary.cells).toBe(matrix.cellIds.length);
      expect(Object.values(job.summary.labelCounts).reduce((s, n) => s + n, 0)).toBe(matrix.cellIds.length);

      const csv = await api.rest(`/api/v1/annotations/${job.id}/predictions.csv`, { token: a.token });
      const lines = (await csv.text()).trim().split('\n');
      expect(lines[0]).toBe('cell_id,label,confidence,best_institution,query_file');
      expect(lines).toHaveLength(matrix.cellIds.length + 1);
      expect(lines[1]).toMatch(/,pbmc_10x_3p_v3\.csv\.gz$/);
    });

    it('should never redo a finished job (duplicate deliveries are normal)', async () => {
      const runner = new AnnotationRunner(api.db, api.store);
      expect(await runner.run(job.id)).toBe('skipped');
      expect(await runner.run('00000000-0000-0000-0000-000000000000')).toBe('skipped');
    });

    it('should label cells under the reject threshold unassigned', async () => {
      const res = await submit(x.adminToken, { modelVersionId: version.id, rejectThreshold: '0.9999' });
      const done = await waitForJob(((await res.json()) as { id: string }).id, x.adminToken);
      expect(done.status).toBe('completed');
      expect(done.summary.unassigned).toBeGreaterThan(0);
    });

    it('should choose a threshold per predicted type with rejectThreshold "auto"', async () => {
      const res = await submit(x.adminToken, { modelVersionId: version.id, rejectThreshold: 'auto' });
      expect(res.status).toBe(202);
      const done = await waitForJob(((await res.json()) as { id: string }).id, x.adminToken);
      expect(done.status).toBe('completed');
      expect(done.autoReject).toBe(true);
      expect(done.rejectThreshold).toBeNull();
      // Every predicted type gets a threshold: its own from 10 cells up, else the whole query's.
      const thresholds = done.summary.autoThresholds!;
      const labelled = Object.keys(done.summary.labelCounts).filter((l) => l !== 'unassigned');
      expect(labelled.length).toBeGreaterThan(1);
      for (const type of labelled) expect(thresholds[type]).toBeGreaterThan(-1);
      for (const r of Object.values(thresholds)) expect(r).toBeLessThan(1);
      expect(done.summary.unassigned).toBeLessThan(0.2 * done.summary.cells);
    });

    it('should fail a job whose query file is malformed, with the parser message and no results', async () => {
      const bad = 'cell_id,CD3E,MS4A1\nc1,1,0\nc2,x,0\n';
      const res = await submit(a.token, { modelVersionId: version.id }, 'bad-query.csv', bad);
      expect(res.status).toBe(202);
      const failed = await waitForJob(((await res.json()) as { id: string }).id, a.token);
      expect(failed.status).toBe('failed');
      expect(failed.error).toMatch(/^bad-query\.csv/);
      expect(failed.error).toMatch(/line 3/);
      expect(await api.store.list(`annotations/${failed.id}/`)).toEqual([
        `annotations/${failed.id}/input/bad-query.csv`,
      ]);
      const download = await api.rest(`/api/v1/annotations/${failed.id}/result.txt`, { token: a.token });
      expect(download.status).toBe(409);
      expect(await messageOf(download)).toMatch(/failed: bad-query\.csv/);
    });

    it('should answer 409 for the results of a job that has not finished', async () => {
      const row = await api.db.annotationJob.create({
        data: {
          consortiumId: x.id,
          institutionId: a.id,
          modelVersionId: version.id,
          inputFileName: 'q.csv',
          inputKey: 'annotations/none/input/q.csv',
          inputSha256: '0'.repeat(64),
        },
      });
      const res = await api.rest(`/api/v1/annotations/${row.id}/predictions.csv`, { token: a.token });
      expect(res.status).toBe(409);
      expect(await messageOf(res)).toMatch(/is queued; predictions\.csv exists only once it has completed/);
      await api.db.annotationJob.delete({ where: { id: row.id } });
    });

    it('should refuse bad submissions before storing anything', async () => {
      const noModel = await submit(a.token, {});
      expect(noModel.status).toBe(400);
      expect(await messageOf(noModel)).toMatch(/modelVersionId/);
      const badThreshold = await submit(a.token, { modelVersionId: version.id, rejectThreshold: 'high' });
      expect(badThreshold.status).toBe(400);
      expect(await messageOf(badThreshold)).toMatch(/rejectThreshold "high": .*or "auto"/);
      const foreignModel = await submit(z.token, { modelVersionId: version.id });
      expect(foreignModel.status).toBe(404);
      expect(await api.db.annotationJob.count({ where: { consortiumId: y.id } })).toBe(0);
    });

    it("should keep an institution's jobs and results from everyone else", async () => {
      for (const token of [b.token, z.token, y.adminToken]) {
        expect((await api.rest(`/api/v1/annotations/${job.id}`, { token })).status).toBe(404);
        expect((await api.rest(`/api/v1/annotations/${job.id}/result.txt`, { token })).status).toBe(404);
        expect((await api.rest(`/api/v1/annotations/${job.id}/predictions.csv`, { token })).status).toBe(404);
        const gql = await api.gql('query($id: ID!) { annotationJob(id: $id) { id } }', { id: job.id }, token);
        expect(gql.errors?.[0].extensions?.code).toBe('NOT_FOUND');
      }
      const bJobs = await api.gqlOk<{ annotationJobs: unknown[] }>('{ annotationJobs { id } }', {}, b.token);
      expect(bJobs.annotationJobs).toEqual([]);
      // The consortium admin oversees its institutions' jobs.
      expect((await api.rest(`/api/v1/annotations/${job.id}`, { token: x.adminToken })).status).toBe(200);
      const aJobs = await api.gqlOk<{ annotationJobs: { id: string }[] }>(
        '{ annotationJobs { id } }',
        {},
        a.token,
      );
      expect(aJobs.annotationJobs.map((j) => j.id)).toContain(job.id);
    });
  });

  describe('GET /model-versions/:id/bundle', () => {
    it("should rebuild the command line's bundle, byte for byte in its weights", async () => {
      const res = await api.rest(`/api/v1/model-versions/${version.id}/bundle`, { token: b.token });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/x-tar');
      const tar = join(dir, 'download.tar');
      await writeFile(tar, Buffer.from(await res.arrayBuffer()));
      const out = join(dir, 'download');
      execFileSync('mkdir', ['-p', out]);
      execFileSync('tar', ['-xf', tar, '-C', out]);
      const { model } = await loadBundle(join(out, `model-${version.id}`));
      // Buffer.equals: toEqual would compare the weights element by element, slowly.
      expect(Buffer.from(model.params.buffer).equals(Buffer.from(bundle.model.params.buffer))).toBe(true);
      expect(model.genes).toEqual(bundle.model.genes);
      expect(model.landmarks).toEqual(bundle.model.landmarks);
      const weights = await readFile(join(out, `model-${version.id}`, 'weights.bin'));
      expect(weights.equals(await readFile(join(bundle.bundleDir, 'weights.bin')))).toBe(true);
    });
  });
});
