import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { annotateMatrix, loadBundle, type FederatedModel } from '@fl/federation';
import { readExpression } from '@fl/formats';
import {
  createConsortium,
  formWith,
  registerInstitution,
  startApi,
  type ApiHarness,
  type RegisteredInstitution,
} from './support/api-harness';
import { makeBundleTar, QUERY } from './support/model-bundle';

interface VersionJson {
  id: string;
  sha256: string;
  models: number;
  sizeBytes: number;
  manifest: { options: { ensembleSize?: number }; parameterCount: number };
}
interface JobJson {
  id: string;
  status: string;
  error: string | null;
}

/**
 * An ensemble trained by the command line (`--preset ensemble`, `--preset
 * variable-genes-ensemble`) imported into the platform: stored with every model, annotated with
 * their averaged correlations exactly as `scprivacy annotate` does, and exported back whole.
 */
describe('api: an imported ensemble of models', () => {
  let api: ApiHarness;
  let dir: string;
  let bundle: { tar: string; bundleDir: string; model: FederatedModel };
  let x: { id: string; adminToken: string };
  let member: RegisteredInstitution;
  let version: VersionJson;

  const waitForJob = async (id: string): Promise<JobJson> => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const res = await api.rest(`/api/v1/annotations/${id}`, { token: member.token });
      const job = (await res.json()) as JobJson;
      if (job.status === 'completed' || job.status === 'failed') return job;
      if (Date.now() > deadline) throw new Error(`annotation job ${id} still ${job.status}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'api-ensemble-'));
    // Three models, 3 rounds each, on 100 variable genes per institution.
    [api, bundle] = await Promise.all([
      startApi('ensemble_models'),
      makeBundleTar(dir, { ensembleSize: 3, variableGenes: 100, preset: 'variable-genes-ensemble' }),
    ]);
    x = await createConsortium(api, 'Ensembles X');
    member = await registerInstitution(api, x.id, x.adminToken, 'ens');
  });

  afterAll(async () => {
    await api?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('should import every model of the ensemble with its own landmark sets', async () => {
    expect(bundle.model.ensemble).toHaveLength(2);
    const res = await api.rest('/api/v1/model-versions/import', {
      method: 'POST',
      token: member.token,
      body: formWith('ensemble.tar', await readFile(bundle.tar)),
    });
    expect({ status: res.status, body: res.status === 201 ? '' : await res.text() }).toEqual({
      status: 201,
      body: '',
    });
    version = (await res.json()) as VersionJson;
    expect(version.manifest.options.ensembleSize).toBe(3);
    expect(version.models).toBe(3);
    // One weights object holding the three models one after another, as a federation's.
    expect(version.sizeBytes).toBe(3 * 4 * version.manifest.parameterCount);
    const weights = Buffer.concat(
      await Promise.all(
        ['weights.bin', 'weights-1.bin', 'weights-2.bin'].map((f) => readFile(join(bundle.bundleDir, f))),
      ),
    );
    const stored = await api.store.getBuffer(`models/${version.id}/weights.bin`, version.sha256);
    expect(stored.equals(weights)).toBe(true);
    const sets = await api.db.landmarkSet.findMany({
      where: { modelVersionId: version.id },
      orderBy: [{ member: 'asc' }, { institution: 'asc' }],
    });
    const institutions = bundle.model.landmarks.map((l) => l.institution).sort();
    expect(sets.map((s) => [s.member, s.institution])).toEqual(
      [0, 1, 2].flatMap((m) => institutions.map((i) => [m, i])),
    );
  });

  it('should annotate with the averaged correlations of every model, as the command line does', async () => {
    const res = await api.rest('/api/v1/annotations', {
      method: 'POST',
      token: member.token,
      body: formWith('pbmc_10x_3p_v3.csv.gz', await readFile(QUERY), { modelVersionId: version.id }),
    });
    expect(res.status).toBe(202);
    const job = await waitForJob(((await res.json()) as { id: string }).id);
    expect(job.error).toBeNull();
    expect(job.status).toBe('completed');
    const csv = await api.rest(`/api/v1/annotations/${job.id}/predictions.csv`, { token: member.token });
    const rows = (await csv.text()).trim().split('\n').slice(1);
    const matrix = await readExpression(QUERY, { role: 'query' });
    const ensemble = await annotateMatrix(bundle.model, matrix);
    const first = await annotateMatrix({ ...bundle.model, ensemble: undefined }, matrix);
    const confidence = rows.map((r) => Number(r.split(',')[2]));
    expect(rows.map((r) => r.split(',')[1])).toEqual(ensemble.labels);
    expect(confidence).toHaveLength(matrix.cellIds.length);
    // The csv's figures are rounded: the ensemble's mean correlations, not the first model's.
    confidence.forEach((c, i) => expect(c).toBeCloseTo(ensemble.confidence[i], 4));
    expect(confidence.some((c, i) => Math.abs(c - first.confidence[i]) > 1e-3)).toBe(true);
  });

  it('should export the whole ensemble, every model byte for byte', async () => {
    const res = await api.rest(`/api/v1/model-versions/${version.id}/bundle`, { token: member.token });
    expect(res.status).toBe(200);
    const tar = join(dir, 'download.tar');
    await writeFile(tar, Buffer.from(await res.arrayBuffer()));
    const out = join(dir, 'download');
    execFileSync('mkdir', ['-p', out]);
    execFileSync('tar', ['-xf', tar, '-C', out]);
    const folder = join(out, `model-${version.id}`);
    const { model, manifest } = await loadBundle(folder);
    expect(manifest.options).toMatchObject({ ensembleSize: 3, preset: 'variable-genes-ensemble' });
    expect(model.genes).toEqual(bundle.model.genes);
    for (const file of [
      'weights.bin',
      'weights-1.bin',
      'weights-2.bin',
      'landmarks-1.json',
      'landmarks-2.json',
    ]) {
      expect(
        (await readFile(join(folder, file))).equals(await readFile(join(bundle.bundleDir, file))),
        file,
      ).toBe(true);
    }
    expect(model.ensemble?.map((m) => m.landmarks)).toEqual(bundle.model.ensemble?.map((m) => m.landmarks));
  });
});
