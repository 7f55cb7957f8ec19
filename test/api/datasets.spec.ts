import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { objectKeys } from '@fl/platform';
import { InstitutionIdentity } from '@fl/secure-agg';
import {
  createConsortium,
  formWith,
  messageOf,
  OPERATOR_TOKEN,
  registerInstitution,
  startApi,
  type ApiHarness,
  type RegisteredInstitution,
} from './support/api-harness';

const TRAIN = fileURLToPath(new URL('../../examples/pbmc-mini/train/pbmc3k_10x_v1.csv.gz', import.meta.url));
const UPLOAD_LIMIT = 200_000;

const TINY_REFERENCE = [
  'cell_id,CD3E,MS4A1,cell_label,LYZ',
  'c1,1.2,0,T cell,0.1',
  'c2,0,2.1,B cell,0',
  'c3,0.9,0,T cell,0',
  'c4,0,1.7,B cell,0.2',
  '',
].join('\n');

interface DatasetJson {
  id: string;
  institutionId: string;
  name: string;
  fileName: string;
  location: string;
  sha256: string;
  sizeBytes: number;
  cells: number;
  genes: number;
  typeCounts: Record<string, number>;
}

describe('api: authentication, institutions and datasets', () => {
  let api: ApiHarness;
  let x: { id: string; adminToken: string };
  let y: { id: string; adminToken: string };
  let a: RegisteredInstitution;
  let b: RegisteredInstitution;
  let z: RegisteredInstitution;
  let aDataset: DatasetJson;
  let bDataset: DatasetJson;

  const upload = (institution: string, form: FormData, token: string) =>
    api.rest(`/api/v1/institutions/${institution}/datasets`, { method: 'POST', body: form, token });

  beforeAll(async () => {
    api = await startApi('datasets', { UPLOAD_MAX_BYTES: String(UPLOAD_LIMIT) });
    x = await createConsortium(api, 'Consortium X');
    y = await createConsortium(api, 'Consortium Y');
    a = await registerInstitution(api, x.id, x.adminToken, 'alpha');
    b = await registerInstitution(api, x.id, x.adminToken, 'beta');
    z = await registerInstitution(api, y.id, y.adminToken, 'zeta');
  });

  afterAll(async () => {
    await api?.close();
  });

  describe('authentication', () => {
    it('should answer 401 / UNAUTHENTICATED without a token', async () => {
      expect((await api.rest('/api/v1/datasets')).status).toBe(401);
      const result = await api.gql('{ me { kind } }');
      expect(result.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    });

    it('should answer 401 / UNAUTHENTICATED with a wrong token', async () => {
      const res = await api.rest('/api/v1/datasets', { token: 'scp_not-a-real-token' });
      expect(res.status).toBe(401);
      expect(await messageOf(res)).toMatch(/unknown or revoked/);
      const result = await api.gql('{ me { kind } }', {}, 'scp_not-a-real-token');
      expect(result.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    });

    it('should tell each principal who it is', async () => {
      const me = (token: string) =>
        api.gqlOk<{ me: { kind: string; institutionName: string | null } }>(
          '{ me { kind institutionName } }',
          {},
          token,
        );
      expect((await me(OPERATOR_TOKEN)).me.kind).toBe('operator');
      expect((await me(x.adminToken)).me.kind).toBe('admin');
      expect((await me(a.token)).me).toEqual({ kind: 'member', institutionName: a.name });
    });

    it('should serve the health probes without a token', async () => {
      expect(await (await api.rest('/health/live')).json()).toEqual({ status: 'ok' });
      const ready = await api.rest('/health/ready');
      expect(ready.status).toBe(200);
      expect(((await ready.json()) as { checks: unknown }).checks).toEqual({
        postgres: 'ok',
        redis: 'ok',
        objectStore: 'ok',
      });
    });
  });

  describe('consortia and institutions', () => {
    it('should let only the operator create consortia', async () => {
      const result = await api.gql(
        'mutation { createConsortium(name: "Rogue") { adminToken } }',
        {},
        x.adminToken,
      );
      expect(result.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    });

    it('should store the consortium CA certificate in clear and its key sealed', async () => {
      const row = await api.db.consortium.findUniqueOrThrow({ where: { id: x.id } });
      expect(row.caCertificatePem).toContain('BEGIN CERTIFICATE');
      const sealed = JSON.parse(Buffer.from(row.caKeySealed).toString('utf8'));
      expect(sealed.encryptedPrivateKeyPem).toContain('ENCRYPTED PRIVATE KEY');
      expect(Buffer.from(row.caKeySealed).toString('utf8')).not.toContain('BEGIN RSA PRIVATE KEY');
    });

    it("should hide one consortium from another's tokens", async () => {
      const query = 'query($id: ID!) { consortium(id: $id) { name } }';
      expect((await api.gql(query, { id: x.id }, y.adminToken)).errors?.[0].extensions?.code).toBe(
        'NOT_FOUND',
      );
      expect((await api.gql(query, { id: x.id }, z.token)).errors?.[0].extensions?.code).toBe('NOT_FOUND');
      const own = await api.gqlOk<{ consortium: { name: string } }>(query, { id: x.id }, a.token);
      expect(own.consortium.name).toMatch(/^Consortium X/);
      const listed = await api.gqlOk<{ consortia: { id: string }[] }>(
        '{ consortia { id } }',
        {},
        y.adminToken,
      );
      expect(listed.consortia.map((c) => c.id)).toEqual([y.id]);
    });

    it('should give a registered institution its queue user', async () => {
      expect(a.queueUsername).toBe(`worker-${a.name}`);
      const acl = (await api.redis.call('ACL', 'GETUSER', a.queueUsername)) as unknown[];
      expect(acl).not.toBeNull();
    });

    it('should refuse a taken or malformed institution name', async () => {
      const register = (name: string) =>
        api.gql(
          'mutation($c: ID!, $n: String!) { registerInstitution(consortiumId: $c, name: $n, displayName: "D") { token } }',
          { c: y.id, n: name },
          y.adminToken,
        );
      expect((await register(a.name)).errors?.[0].extensions?.code).toBe('CONFLICT');
      const bad = await register('Not Valid!');
      expect(bad.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
      expect(bad.errors?.[0].message).toMatch(/lower-case letters, digits and dashes/);
    });

    it("should not let one consortium's admin register institutions in another", async () => {
      const result = await api.gql(
        'mutation($c: ID!) { registerInstitution(consortiumId: $c, name: "intruder", displayName: "I") { token } }',
        { c: x.id },
        y.adminToken,
      );
      expect(result.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    });

    it('should show a member only its own institution', async () => {
      const list = await api.gqlOk<{ institutions: { name: string }[] }>(
        'query($c: ID!) { institutions(consortiumId: $c) { name } }',
        { c: x.id },
        a.token,
      );
      expect(list.institutions.map((i) => i.name)).toEqual([a.name]);
      const other = await api.gql('query($id: ID!) { institution(id: $id) { name } }', { id: b.id }, a.token);
      expect(other.errors?.[0].extensions?.code).toBe('NOT_FOUND');
      const foreign = await api.gql(
        'query($id: ID!) { institution(id: $id) { name } }',
        { id: a.id },
        y.adminToken,
      );
      expect(foreign.errors?.[0].extensions?.code).toBe('NOT_FOUND');
      const all = await api.gqlOk<{ institutions: { name: string }[] }>(
        'query($c: ID!) { institutions(consortiumId: $c) { name } }',
        { c: x.id },
        x.adminToken,
      );
      expect(all.institutions.map((i) => i.name).sort()).toEqual([a.name, b.name].sort());
    });

    it("should certify an institution's CSR with the consortium CA", async () => {
      const identity = InstitutionIdentity.generate(a.name);
      const data = await api.gqlOk<{
        certifyInstitution: { status: string; certificatePem: string; certificateSerial: string };
      }>(
        'mutation($id: ID!, $csr: String!) { certifyInstitution(institutionId: $id, csrPem: $csr) { status certificatePem certificateSerial } }',
        { id: a.id, csr: identity.createCsr() },
        x.adminToken,
      );
      expect(data.certifyInstitution.status).toBe('certified');
      expect(data.certifyInstitution.certificateSerial).toMatch(/^[0-9a-f]+$/);
      // The institution's own identity accepts the certificate the CA issued for its key.
      identity.installCertificate(data.certifyInstitution.certificatePem);
      const sealed = JSON.parse(
        Buffer.from(
          (await api.db.consortium.findUniqueOrThrow({ where: { id: x.id } })).caKeySealed,
        ).toString('utf8'),
      );
      expect(sealed.issued.map((i: { institutionId: string }) => i.institutionId)).toEqual([a.name]);
    });

    it('should refuse a bad CSR with a clear message', async () => {
      const certify = (csr: string, token = x.adminToken) =>
        api.gql(
          'mutation($id: ID!, $csr: String!) { certifyInstitution(institutionId: $id, csrPem: $csr) { status } }',
          { id: b.id, csr },
          token,
        );
      const garbage = await certify('hello');
      expect(garbage.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
      expect(garbage.errors?.[0].message).toMatch(/not a PEM CSR/);
      const wrongName = await certify(InstitutionIdentity.generate('someone-else').createCsr());
      expect(wrongName.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
      expect(wrongName.errors?.[0].message).toMatch(/someone-else/);
      const byMember = await certify(InstitutionIdentity.generate(b.name).createCsr(), b.token);
      expect(byMember.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    });

    it("should revoke an institution's tokens and queue user", async () => {
      const c = await registerInstitution(api, y.id, y.adminToken, 'gamma');
      const revoked = await api.gqlOk<{ revokeInstitution: { status: string } }>(
        'mutation($id: ID!) { revokeInstitution(institutionId: $id) { status } }',
        { id: c.id },
        y.adminToken,
      );
      expect(revoked.revokeInstitution.status).toBe('revoked');
      expect((await api.rest('/api/v1/datasets', { token: c.token })).status).toBe(401);
      expect(await api.redis.call('ACL', 'GETUSER', c.queueUsername)).toBeNull();
    });

    it('should issue and revoke access tokens within the consortium only', async () => {
      const created = await api.gqlOk<{ createAccessToken: { token: string; accessToken: { id: string } } }>(
        'mutation($i: CreateAccessTokenInput!) { createAccessToken(input: $i) { token accessToken { id } } }',
        { i: { consortiumId: x.id, role: 'member', institutionId: a.id, label: 'laptop' } },
        x.adminToken,
      );
      expect((await api.rest('/api/v1/datasets', { token: created.createAccessToken.token })).status).toBe(
        200,
      );
      const foreign = await api.gql(
        'mutation($i: CreateAccessTokenInput!) { createAccessToken(input: $i) { token } }',
        { i: { consortiumId: x.id, role: 'member', institutionId: a.id } },
        y.adminToken,
      );
      expect(foreign.errors?.[0].extensions?.code).toBe('NOT_FOUND');
      await api.gqlOk(
        'mutation($id: ID!) { revokeAccessToken(id: $id) { revokedAt } }',
        { id: created.createAccessToken.accessToken.id },
        x.adminToken,
      );
      expect((await api.rest('/api/v1/datasets', { token: created.createAccessToken.token })).status).toBe(
        401,
      );
    });
  });

  describe('dataset uploads', () => {
    it('should store a reference and return its summary', async () => {
      const bytes = await readFile(TRAIN);
      const res = await upload(a.name, formWith('pbmc3k_10x_v1.csv.gz', bytes), a.token);
      expect(res.status).toBe(201);
      aDataset = (await res.json()) as DatasetJson;
      expect(aDataset).toMatchObject({
        institutionId: a.id,
        name: 'pbmc3k_10x_v1',
        fileName: 'pbmc3k_10x_v1.csv.gz',
        location: 'upload',
        sizeBytes: bytes.length,
        cells: 196,
        genes: 1000,
      });
      expect(Object.values(aDataset.typeCounts).reduce((s, n) => s + n, 0)).toBe(196);
      const key = objectKeys.dataset(a.name, aDataset.id, 'pbmc3k_10x_v1.csv.gz');
      expect(await api.store.getBuffer(key, aDataset.sha256)).toEqual(bytes);
    });

    it('should let an admin upload for an institution, under a chosen name', async () => {
      const res = await upload(
        b.name,
        formWith('tiny.csv', TINY_REFERENCE, { name: 'tiny reference' }),
        x.adminToken,
      );
      expect(res.status).toBe(201);
      bDataset = (await res.json()) as DatasetJson;
      expect(bDataset).toMatchObject({
        name: 'tiny reference',
        cells: 4,
        genes: 3,
        typeCounts: { 'T cell': 2, 'B cell': 2 },
      });
    });

    it('should refuse a second dataset of the same name', async () => {
      const res = await upload(
        b.name,
        formWith('tiny.csv', TINY_REFERENCE, { name: 'tiny reference' }),
        b.token,
      );
      expect(res.status).toBe(409);
    });

    async function assertNothingLeft(): Promise<void> {
      const keys = [
        ...(await api.store.list(`institutions/${a.name}/`)),
        ...(await api.store.list(`institutions/${b.name}/`)),
      ];
      expect(keys).toHaveLength(2);
      expect(await api.db.dataset.count()).toBe(2);
    }

    it('should answer 413 for a file over the limit and keep nothing', async () => {
      const big = Buffer.alloc(UPLOAD_LIMIT + 50_000, 'a');
      const res = await upload(a.name, formWith('big.csv', big), a.token);
      expect(res.status).toBe(413);
      expect(await messageOf(res)).toMatch(/big\.csv is larger than the upload limit of 195\.3 KiB/);
      await assertNothingLeft();
    });

    it('should answer 400 naming the file, line and problem for a malformed file, and keep nothing', async () => {
      const malformed = TINY_REFERENCE.replace('c2,0,2.1', 'c2,0,lots');
      const res = await upload(a.name, formWith('broken.csv', malformed), a.token);
      expect(res.status).toBe(400);
      const { message } = (await res.json()) as { message: string };
      expect(message).toMatch(/^broken\.csv/);
      expect(message).toMatch(/line 3/);
      expect(message).not.toContain('/tmp');
      await assertNothingLeft();
    });

    it('should refuse a reference without cell_label', async () => {
      const query = 'cell_id,CD3E,MS4A1\nc1,1,0\n';
      const res = await upload(a.name, formWith('nolabel.csv', query), a.token);
      expect(res.status).toBe(400);
      expect(await messageOf(res)).toMatch(/cell_label/);
      await assertNothingLeft();
    });

    it('should refuse a cell type with a single cell as training would, unless allowed', async () => {
      const lonely = TINY_REFERENCE.replace('c4,0,1.7,B cell,0.2', 'c4,0,1.7,NK cell,0.2');
      const res = await upload(a.name, formWith('lonely.csv', lonely), a.token);
      expect(res.status).toBe(400);
      expect(await messageOf(res)).toBe(
        'lonely.csv: cell types "B cell", "NK cell" have only one cell; the N-pair loss needs two cells of a type. ' +
          'Add cells, remove the type, or send the form field allowSingletonTypes=true (and start the federation ' +
          'with allowSingletonTypes) to train without it and keep it for landmarks only (published behaviour).',
      );
      await assertNothingLeft();
      const single = 'cell_id,CD3E,cell_label\nc1,1,T\nc2,1,B\n';
      const allOne = await upload(
        a.name,
        formWith('single.csv', single, { allowSingletonTypes: 'true' }),
        a.token,
      );
      expect(allOne.status).toBe(400);
      expect(await messageOf(allOne)).toMatch(/^single\.csv: every cell type has a single cell/);
      await assertNothingLeft();

      const allowed = await upload(
        a.name,
        formWith('lonely.csv', lonely, { allowSingletonTypes: 'true' }),
        a.token,
      );
      expect(allowed.status).toBe(201);
      const dataset = (await allowed.json()) as DatasetJson;
      expect(dataset.typeCounts).toEqual({ 'T cell': 2, 'B cell': 1, 'NK cell': 1 });
      // Cleaned up by hand (datasets cannot be deleted through the API) for the counts below.
      await api.db.dataset.delete({ where: { id: dataset.id } });
      await api.store.remove(objectKeys.dataset(a.name, dataset.id, 'lonely.csv'));
      await assertNothingLeft();
    });

    it('should refuse an allowSingletonTypes field that is not true or false', async () => {
      const res = await upload(
        a.name,
        formWith('tiny.csv', TINY_REFERENCE, { allowSingletonTypes: 'yes' }),
        a.token,
      );
      expect(res.status).toBe(400);
      expect(await messageOf(res)).toMatch(/allowSingletonTypes/);
    });

    it('should answer 413 naming the limit for a file beyond a read limit (a small .gz of a huge field)', async () => {
      const bomb = gzipSync(Buffer.alloc(32 << 20, 0x30), { level: 9 });
      expect(bomb.length).toBeLessThan(UPLOAD_LIMIT);
      const res = await upload(a.name, formWith('zeros.csv.gz', bomb), a.token);
      expect(res.status).toBe(413);
      expect(await messageOf(res)).toMatch(
        /^zeros\.csv\.gz, line 1, column 1: a field exceeds the limit of 64 KiB \(maxFieldBytes\); if the file is genuine, raise UPLOAD_MAX_FIELD_BYTES$/,
      );
    });

    it('should refuse a cell id with a control character, naming the line', async () => {
      const tabbed = TINY_REFERENCE.replace('c2,', '"c\t2",');
      const res = await upload(a.name, formWith('tabbed.csv', tabbed), a.token);
      expect(res.status).toBe(400);
      expect(await messageOf(res)).toMatch(
        /^tabbed\.csv, line 3: cell id "c\\t2" contains a control character/,
      );
    });

    it('should refuse an unsupported file type', async () => {
      const res = await upload(a.name, formWith('notes.docx', 'hello'), a.token);
      expect(res.status).toBe(400);
      expect(await messageOf(res)).toMatch(/notes\.docx: unsupported file type/);
    });

    it('should register a site-local dataset from its summary alone', async () => {
      const body = {
        name: 'on-site',
        path: '/data/refs/wang.h5ad',
        cells: 10,
        genes: 500,
        typeCounts: { alpha: 4, beta: 6 },
        sha256: 'ab'.repeat(32),
      };
      const res = await api.rest(`/api/v1/institutions/${a.name}/datasets/site`, {
        method: 'POST',
        token: a.token,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(201);
      expect(await res.json()).toMatchObject({
        location: 'site',
        localPath: '/data/refs/wang.h5ad',
        fileName: 'wang.h5ad',
      });
      const bad = await api.rest(`/api/v1/institutions/${a.name}/datasets/site`, {
        method: 'POST',
        token: a.token,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...body, name: 'other', cells: 11 }),
      });
      expect(bad.status).toBe(400);
      expect(await messageOf(bad)).toMatch(/typeCounts: the cell-type counts must add up to cells/);
      await api.db.dataset.deleteMany({ where: { location: 'site' } });
    });

    it('should write an audit entry for every write', async () => {
      const actions = (await api.db.auditLog.findMany({ select: { action: true, actor: true } })).map(
        (e) => e.action,
      );
      expect(actions).toEqual(
        expect.arrayContaining([
          'consortium.create',
          'institution.register',
          'institution.certify',
          'institution.revoke',
          'token.create',
          'token.revoke',
          'dataset.upload',
          'dataset.register-site',
        ]),
      );
      const upload = await api.db.auditLog.findFirstOrThrow({ where: { target: `dataset:${aDataset.id}` } });
      expect(upload.actor).toBe(`institution:${a.name}`);
    });
  });

  describe('tenant isolation of datasets', () => {
    it("should show a member its own institution's datasets only", async () => {
      const mine = (await (await api.rest('/api/v1/datasets', { token: a.token })).json()) as DatasetJson[];
      expect(mine.map((d) => d.id)).toEqual([aDataset.id]);
      const all = (await (
        await api.rest('/api/v1/datasets', { token: x.adminToken })
      ).json()) as DatasetJson[];
      expect(all.map((d) => d.id).sort()).toEqual([aDataset.id, bDataset.id].sort());
      const gql = await api.gqlOk<{ datasets: { id: string }[] }>('{ datasets { id } }', {}, a.token);
      expect(gql.datasets.map((d) => d.id)).toEqual([aDataset.id]);
    });

    it("should answer 404 for another institution's dataset", async () => {
      expect((await api.rest(`/api/v1/datasets/${bDataset.id}`, { token: a.token })).status).toBe(404);
      expect((await api.rest(`/api/v1/datasets/${aDataset.id}`, { token: z.token })).status).toBe(404);
      expect((await api.rest(`/api/v1/datasets/${aDataset.id}`, { token: y.adminToken })).status).toBe(404);
      expect((await api.rest(`/api/v1/datasets/${aDataset.id}`, { token: a.token })).status).toBe(200);
      expect((await api.rest('/api/v1/datasets/not-a-uuid', { token: a.token })).status).toBe(404);
    });

    it("should list nothing of another consortium's", async () => {
      const theirs = (await (
        await api.rest('/api/v1/datasets', { token: y.adminToken })
      ).json()) as DatasetJson[];
      expect(theirs).toEqual([]);
    });

    it("should refuse uploads into another institution's space", async () => {
      const intoB = await upload(b.name, formWith('tiny.csv', TINY_REFERENCE, { name: 'sneaky' }), a.token);
      expect(intoB.status).toBe(404);
      const fromY = await upload(
        a.name,
        formWith('tiny.csv', TINY_REFERENCE, { name: 'sneaky' }),
        y.adminToken,
      );
      expect(fromY.status).toBe(404);
      const fromZ = await upload(a.name, formWith('tiny.csv', TINY_REFERENCE, { name: 'sneaky' }), z.token);
      expect(fromZ.status).toBe(404);
      const site = await api.rest(`/api/v1/institutions/${a.name}/datasets/site`, {
        method: 'POST',
        token: z.token,
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      expect(site.status).toBe(404);
      expect(await api.db.dataset.count({ where: { name: 'sneaky' } })).toBe(0);
    });

    it('should not let the operator token act for an institution', async () => {
      expect((await api.rest('/api/v1/datasets', { token: OPERATOR_TOKEN })).status).toBe(403);
    });
  });

  describe('OpenAPI', () => {
    it('should serve the document and the interactive page', async () => {
      const doc = (await (await api.rest('/api/docs-json')).json()) as { paths: Record<string, unknown> };
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining([
          '/api/v1/institutions/{name}/datasets',
          '/api/v1/institutions/{name}/datasets/site',
          '/api/v1/datasets',
          '/api/v1/datasets/{id}',
          '/api/v1/annotations',
          '/api/v1/annotations/{id}',
          '/api/v1/annotations/{id}/result.txt',
          '/api/v1/annotations/{id}/predictions.csv',
          '/api/v1/model-versions',
          '/api/v1/model-versions/{id}/bundle',
          '/api/v1/model-versions/import',
          '/health/live',
          '/health/ready',
        ]),
      );
      const page = await api.rest('/api/docs');
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/swagger/i);
    });
  });
});
