import { readFile } from 'node:fs/promises';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { makeBundle, QUERY_FILE, TINY_REFERENCE } from './support/bundle';
import { formWith, messageOf, Platform, type Consortium, type Institution } from './support/platform';

/**
 * Authentication and tenant isolation against the built api: every kind of bad credential on
 * every surface (REST, GraphQL, graphql-ws subscriptions), and every way one tenant could reach
 * another's datasets, annotation jobs, model versions and federations (by id and by name).
 * Conventions (test/api): 401 / UNAUTHENTICATED without a valid token; what a caller may not see
 * is answered 404 / NOT_FOUND (never 403, which would confirm it exists); a role that may not do
 * something in its own consortium gets 403 / FORBIDDEN.
 */

let p: Platform;
let x: Consortium;
let y: Consortium;
let a: Institution;
let b: Institution;
let z: Institution;
let revokedInst: Institution;
let revokedMemberToken: string;
let revokedAdminToken: string;
let xTokenId: string;
const ids = { aDataset: '', bDataset: '', model: '', job: '', federation: '' };

async function upload(inst: string, token: string, body: FormData): Promise<Response> {
  return p.rest(`/api/v1/institutions/${inst}/datasets`, { method: 'POST', token, body });
}

async function siteDataset(inst: Institution, name: string): Promise<string> {
  const res = await p.rest(`/api/v1/institutions/${inst.name}/datasets/site`, {
    method: 'POST',
    token: inst.token,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      name,
      path: `/data/${name}.h5ad`,
      cells: 3,
      genes: 10,
      typeCounts: { t: 3 },
      sha256: 'c'.repeat(64),
    }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

beforeAll(async () => {
  const dir = (await import('node:os')).tmpdir();
  const { mkdtemp } = await import('node:fs/promises');
  const bundleDir = await mkdtemp(`${dir}/scp-sec-auth-bundle-`);
  // Bad tokens are many here on purpose; the 429 after a burst is tested in rate-limit.spec.ts.
  p = new Platform({
    label: 'auth',
    env: { AUTH_FAILURES_PER_MINUTE: '1000000', RATE_LIMIT_PER_MINUTE: '0' },
  });
  const [, bundle] = await Promise.all([p.start(), makeBundle(bundleDir)]);
  x = await p.createConsortium('Tenancy X');
  y = await p.createConsortium('Tenancy Y');
  a = await p.registerInstitution(x, 'ta');
  b = await p.registerInstitution(x, 'tb');
  z = await p.registerInstitution(y, 'tz');
  revokedInst = await p.registerInstitution(x, 'trevoked');
  await p.gqlOk(
    'mutation($id: ID!) { revokeInstitution(institutionId: $id) { status } }',
    { id: revokedInst.id },
    x.adminToken,
  );
  revokedMemberToken = revokedInst.token;
  const createToken = async (role: string, institutionId?: string) =>
    (
      await p.gqlOk<{ createAccessToken: { token: string; accessToken: { id: string } } }>(
        'mutation($i: CreateAccessTokenInput!) { createAccessToken(input: $i) { token accessToken { id } } }',
        { i: { consortiumId: x.id, role, institutionId, label: 'soon revoked' } },
        x.adminToken,
      )
    ).createAccessToken;
  const adminTok = await createToken('admin');
  await p.gqlOk(
    'mutation($id: ID!) { revokeAccessToken(id: $id) { revokedAt } }',
    { id: adminTok.accessToken.id },
    x.adminToken,
  );
  revokedAdminToken = adminTok.token;
  const spare = await createToken('member', a.id);
  xTokenId = spare.accessToken.id;

  const up = await upload(a.name, a.token, formWith('tiny.csv', TINY_REFERENCE, { name: 'a-ref' }));
  expect(up.status).toBe(201);
  ids.aDataset = ((await up.json()) as { id: string }).id;
  const upB = await upload(b.name, b.token, formWith('tiny.csv', TINY_REFERENCE, { name: 'b-ref' }));
  ids.bDataset = ((await upB.json()) as { id: string }).id;
  await siteDataset(a, 'a-site');
  await siteDataset(b, 'b-site');

  const imported = await p.rest('/api/v1/model-versions/import', {
    method: 'POST',
    token: a.token,
    body: formWith('model.tar', await readFile(bundle.tar)),
  });
  expect(imported.status).toBe(201);
  ids.model = ((await imported.json()) as { id: string }).id;
  const job = await p.rest('/api/v1/annotations', {
    method: 'POST',
    token: a.token,
    body: formWith('query.csv.gz', await readFile(QUERY_FILE), { modelVersionId: ids.model }),
  });
  expect(job.status).toBe(202);
  ids.job = ((await job.json()) as { id: string }).id;
  const fed = await p.gqlOk<{ startFederation: { id: string } }>(
    'mutation($input: StartFederationInput!) { startFederation(input: $input) { id } }',
    {
      input: {
        consortiumId: x.id,
        name: 'tenancy',
        institutions: [a.name, b.name],
        secureAggregation: false,
      },
    },
    x.adminToken,
  );
  ids.federation = fed.startFederation.id;
}, 240_000);

afterAll(async () => {
  await p?.stop();
});

// ------------------------------------------------------------------------------- credentials

type Credential = { label: string; header: () => string | undefined };
const BAD_CREDENTIALS: Credential[] = [
  { label: 'no Authorization header', header: () => undefined },
  { label: 'an empty Bearer', header: () => 'Bearer ' },
  { label: 'another scheme (Basic)', header: () => `Basic ${Buffer.from('admin:admin').toString('base64')}` },
  { label: 'an unknown token', header: () => 'Bearer scp_this-token-was-never-issued-0123456789' },
  { label: 'a 16 KB token', header: () => `Bearer ${'A'.repeat(16_000)}` },
  { label: 'two tokens in one header', header: () => `Bearer ${a.token} ${b.token}` },
  { label: "a revoked institution's token", header: () => `Bearer ${revokedMemberToken}` },
  { label: 'a revoked admin token', header: () => `Bearer ${revokedAdminToken}` },
  {
    label: 'the operator token with a character changed',
    header: () => `Bearer ${p.operatorToken.slice(0, -1)}x`,
  },
];

const REST_ENDPOINTS: { label: string; method: string; path: () => string }[] = [
  { label: 'GET /datasets', method: 'GET', path: () => '/api/v1/datasets' },
  { label: 'GET /datasets/:id', method: 'GET', path: () => `/api/v1/datasets/${ids.aDataset}` },
  {
    label: 'GET /annotations/:id/result.txt',
    method: 'GET',
    path: () => `/api/v1/annotations/${ids.job}/result.txt`,
  },
  { label: 'GET /model-versions', method: 'GET', path: () => '/api/v1/model-versions' },
  {
    label: 'GET /model-versions/:id/bundle',
    method: 'GET',
    path: () => `/api/v1/model-versions/${ids.model}/bundle`,
  },
  {
    label: 'POST /institutions/:name/datasets',
    method: 'POST',
    path: () => `/api/v1/institutions/${a.name}/datasets`,
  },
  { label: 'POST /model-versions/import', method: 'POST', path: () => '/api/v1/model-versions/import' },
];

describe('REST without a valid token', () => {
  const cases = REST_ENDPOINTS.flatMap((e) =>
    BAD_CREDENTIALS.slice(0, 8).map((c) => [e.label, c.label, e, c] as const),
  );
  it.each(cases)('%s with %s: 401, nothing served', async (_e, _c, endpoint, credential) => {
    const header = credential.header();
    const res = await p.rest(endpoint.path(), {
      method: endpoint.method,
      headers: header === undefined ? {} : { authorization: header },
      body:
        endpoint.method === 'POST' ? formWith('tiny.csv', TINY_REFERENCE, { name: 'intruder' }) : undefined,
    });
    expect(res.status).toBe(401);
    expect(await messageOf(res)).toMatch(/token|Sign in/i);
  });

  it('stores nothing from the refused uploads', async () => {
    const count = await p.db.prisma.dataset.count({ where: { name: 'intruder' } });
    expect(count).toBe(0);
  });
});

describe('GraphQL without a valid token', () => {
  const QUERIES = [
    '{ me { kind } }',
    '{ datasets { id } }',
    '{ consortia { id } }',
    '{ federations { id } }',
    '{ modelVersions { id } }',
    '{ annotationJobs { id } }',
  ];
  const cases = QUERIES.flatMap((q) =>
    [BAD_CREDENTIALS[0], BAD_CREDENTIALS[3], BAD_CREDENTIALS[6], BAD_CREDENTIALS[7]].map(
      (c) => [q, c.label, c] as const,
    ),
  );
  it.each(cases)('%s with %s: UNAUTHENTICATED and no data', async (query, _label, credential) => {
    const header = credential.header();
    const res = await fetch(`${p.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(header ? { authorization: header } : {}) },
      body: JSON.stringify({ query }),
    });
    const body = (await res.json()) as { data?: unknown; errors?: { extensions?: { code?: string } }[] };
    expect(body.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect(body.data ?? null).toBeNull();
  });

  it.each([
    ['createConsortium', 'mutation { createConsortium(name: "anon") { adminToken } }'],
    ['revokeInstitution', () => `mutation { revokeInstitution(institutionId: "${a.id}") { status } }`],
    ['cancelFederation', () => `mutation { cancelFederation(id: "${ids.federation}") { id } }`],
  ] as const)('anonymous %s: UNAUTHENTICATED', async (_name, query) => {
    const result = await p.gql(typeof query === 'function' ? query() : query);
    expect(result.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });
});

// ------------------------------------------------------------------------------ subscriptions

describe('subscriptions over graphql-ws', () => {
  const clients: Client[] = [];
  afterAll(async () => {
    for (const c of clients) await c.dispose();
  });
  type SubscriptionResult = {
    errors?: { message?: string; extensions?: { code?: string } }[];
    data?: unknown;
  };
  const firstResult = async (
    token: string | undefined,
    federationId: () => string,
  ): Promise<SubscriptionResult> => {
    const client = createClient({
      url: `${p.url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: token ? { authorization: `Bearer ${token}` } : {},
      retryAttempts: 0,
    });
    clients.push(client);
    const events = client.iterate({
      query: 'subscription($id: ID!) { federationProgress(federationId: $id) { federationId status } }',
      variables: { id: federationId() },
    });
    try {
      const first = await events.next();
      return first.value as SubscriptionResult;
    } catch (e) {
      // A refused connection (close code) is also a refusal.
      return { errors: [{ message: String(e), extensions: { code: 'CONNECTION_REFUSED' } }] };
    }
  };
  it.each([
    ['no token', (): string | undefined => undefined, 'UNAUTHENTICATED'],
    ['an unknown token', (): string | undefined => 'scp_never-issued-0123456789', 'UNAUTHENTICATED'],
    ["a revoked institution's token", () => revokedMemberToken, 'UNAUTHENTICATED'],
    ['a revoked admin token', () => revokedAdminToken, 'UNAUTHENTICATED'],
    ["another consortium's admin", () => y.adminToken, 'NOT_FOUND'],
    ["another consortium's member", () => z.token, 'NOT_FOUND'],
  ] as const)('federationProgress with %s: %s, no events', async (_label, token, code) => {
    const result = await firstResult(token(), () => ids.federation);
    const got = result.errors?.[0].extensions?.code;
    if (code === 'UNAUTHENTICATED') expect(['UNAUTHENTICATED', 'CONNECTION_REFUSED']).toContain(got);
    else expect(got).toBe(code);
    expect(result.data ?? null).toBeNull();
  });

  it('federationProgress of an id that does not exist: NOT_FOUND for a valid member', async () => {
    const result = await firstResult(a.token, () => '00000000-0000-0000-0000-000000000000');
    expect(result.errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });
});

// ------------------------------------------------------------------------------ cross-tenant

describe("reading another tenant's things by id (REST)", () => {
  const readers = [
    ['a member of the same consortium', () => b.token],
    ["another consortium's member", () => z.token],
    ["another consortium's admin", () => y.adminToken],
  ] as const;
  it.each(readers)("GET a's dataset as %s: 404", async (_l, token) => {
    expect((await p.rest(`/api/v1/datasets/${ids.aDataset}`, { token: token() })).status).toBe(404);
  });
  for (const suffix of ['', '/result.txt', '/predictions.csv']) {
    it.each(readers)(`GET a's annotation job${suffix} as %s: 404`, async (_l, token) => {
      expect((await p.rest(`/api/v1/annotations/${ids.job}${suffix}`, { token: token() })).status).toBe(404);
    });
  }
  it.each(readers.slice(1))("GET x's model bundle as %s: 404", async (_l, token) => {
    expect((await p.rest(`/api/v1/model-versions/${ids.model}/bundle`, { token: token() })).status).toBe(404);
  });
  it.each(readers.slice(1))("GET /model-versions as %s lists none of x's", async (_l, token) => {
    const list = (await (await p.rest('/api/v1/model-versions', { token: token() })).json()) as {
      id: string;
    }[];
    expect(list.map((v) => v.id)).not.toContain(ids.model);
  });
  it.each(readers)("GET /datasets as %s lists none of a's", async (_l, token) => {
    const list = (await (await p.rest('/api/v1/datasets', { token: token() })).json()) as { id: string }[];
    expect(list.map((d) => d.id)).not.toContain(ids.aDataset);
  });
  it.each(readers)("GET /annotations as %s lists none of a's", async (_l, token) => {
    const list = (await (await p.rest('/api/v1/annotations', { token: token() })).json()) as { id: string }[];
    expect(list.map((d) => d.id)).not.toContain(ids.job);
  });
  it("GET /datasets?institution=<a's name> as b lists nothing", async () => {
    const res = await p.rest(`/api/v1/datasets?institution=${a.name}`, { token: b.token });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([]);
  });
  it("GET /datasets?institution=<a's name> as another consortium's admin lists nothing", async () => {
    const res = await p.rest(`/api/v1/datasets?institution=${a.name}`, { token: y.adminToken });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([]);
  });
  it('the owner and its admin still read them (the refusals above are not blanket)', async () => {
    expect((await p.rest(`/api/v1/datasets/${ids.aDataset}`, { token: a.token })).status).toBe(200);
    expect((await p.rest(`/api/v1/annotations/${ids.job}`, { token: x.adminToken })).status).toBe(200);
    expect((await p.rest(`/api/v1/model-versions/${ids.model}/bundle`, { token: b.token })).status).toBe(200);
  });
});

describe("reading another tenant's things by id (GraphQL)", () => {
  const cases: [string, () => string, () => Record<string, unknown>, () => string][] = [
    [
      'institution(a) as b',
      () => 'query($id: ID!) { institution(id: $id) { name } }',
      () => ({ id: a.id }),
      () => b.token,
    ],
    [
      'institution(a) as z',
      () => 'query($id: ID!) { institution(id: $id) { name } }',
      () => ({ id: a.id }),
      () => z.token,
    ],
    [
      'institution(a) as admin Y',
      () => 'query($id: ID!) { institution(id: $id) { name } }',
      () => ({ id: a.id }),
      () => y.adminToken,
    ],
    [
      'consortium(X) as z',
      () => 'query($id: ID!) { consortium(id: $id) { name } }',
      () => ({ id: x.id }),
      () => z.token,
    ],
    [
      'consortium(X) as admin Y',
      () => 'query($id: ID!) { consortium(id: $id) { name } }',
      () => ({ id: x.id }),
      () => y.adminToken,
    ],
    [
      'modelVersion as z',
      () => 'query($id: ID!) { modelVersion(id: $id) { id } }',
      () => ({ id: ids.model }),
      () => z.token,
    ],
    [
      'modelVersion as admin Y',
      () => 'query($id: ID!) { modelVersion(id: $id) { id } }',
      () => ({ id: ids.model }),
      () => y.adminToken,
    ],
    [
      'federation as z',
      () => 'query($id: ID!) { federation(id: $id) { id } }',
      () => ({ id: ids.federation }),
      () => z.token,
    ],
    [
      'federation as admin Y',
      () => 'query($id: ID!) { federation(id: $id) { id } }',
      () => ({ id: ids.federation }),
      () => y.adminToken,
    ],
    [
      'rounds of the federation as admin Y',
      () => 'query($id: ID!) { rounds(federationId: $id) { number } }',
      () => ({ id: ids.federation }),
      () => y.adminToken,
    ],
    [
      'modelVersions of the federation as z',
      () => 'query($id: ID!) { modelVersions(federationId: $id) { id } }',
      () => ({ id: ids.federation }),
      () => z.token,
    ],
    [
      'annotationJob as b',
      () => 'query($id: ID!) { annotationJob(id: $id) { id } }',
      () => ({ id: ids.job }),
      () => b.token,
    ],
    [
      'annotationJob as z',
      () => 'query($id: ID!) { annotationJob(id: $id) { id } }',
      () => ({ id: ids.job }),
      () => z.token,
    ],
    [
      'annotationJob as admin Y',
      () => 'query($id: ID!) { annotationJob(id: $id) { id } }',
      () => ({ id: ids.job }),
      () => y.adminToken,
    ],
  ];
  it.each(cases)('%s: NOT_FOUND', async (_l, query, vars, token) => {
    const result = await p.gql(query(), vars(), token());
    expect(result.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect(result.data ?? null).toBeNull();
  });
  it.each(['member z', 'admin Y'])(
    'institutions(X) as %s lists nothing (a list answers empty, not 404)',
    async (who) => {
      const data = await p.gqlOk<{ institutions: unknown[] }>(
        'query($c: ID!) { institutions(consortiumId: $c) { name } }',
        { c: x.id },
        who === 'admin Y' ? y.adminToken : z.token,
      );
      expect(data.institutions).toEqual([]);
    },
  );
  it.each([
    ['datasets', '{ datasets { id } }', (): string => ids.aDataset],
    ['federations', '{ federations { id } }', () => ids.federation],
    ['modelVersions', '{ modelVersions { id } }', () => ids.model],
    ['annotationJobs', '{ annotationJobs { id } }', () => ids.job],
  ] as const)("the %s list of admin Y holds nothing of X's", async (field, query, id) => {
    const data = await p.gqlOk<Record<string, { id: string }[]>>(query, {}, y.adminToken);
    expect(data[field].map((r) => r.id)).not.toContain(id());
  });
});

describe("writing into another tenant's space (by name and by id)", () => {
  it.each([
    ["a uploads into b's space", (): string => b.name, (): string => a.token],
    ["z uploads into a's space", (): string => a.name, (): string => z.token],
    ["admin Y uploads into a's space", (): string => a.name, (): string => y.adminToken],
    [
      'a uploads into an institution that does not exist',
      (): string => 'no-such-institution',
      (): string => a.token,
    ],
    ['a uploads into a path-traversal name', (): string => '..%2F..%2Fetc', (): string => a.token],
  ] as const)('%s: 404 and nothing stored', async (_l, name, token) => {
    const res = await upload(name(), token(), formWith('tiny.csv', TINY_REFERENCE, { name: 'sneaky' }));
    expect(res.status).toBe(404);
    expect(await p.db.prisma.dataset.count({ where: { name: 'sneaky' } })).toBe(0);
  });
  it.each([
    ['z registers a site dataset for a', () => a.name, () => z.token],
    ['b registers a site dataset for a', () => a.name, () => b.token],
  ] as const)('%s: 404', async (_l, name, token) => {
    const res = await p.rest(`/api/v1/institutions/${name()}/datasets/site`, {
      method: 'POST',
      token: token(),
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'sneaky-site',
        path: '/x.h5ad',
        cells: 1,
        genes: 1,
        typeCounts: { t: 1 },
        sha256: 'a'.repeat(64),
      }),
    });
    expect(res.status).toBe(404);
  });
  it("z submits an annotation job with X's model: 404", async () => {
    const res = await p.rest('/api/v1/annotations', {
      method: 'POST',
      token: z.token,
      body: formWith('q.csv', 'cell_id,CD3E\nc1,1\n', { modelVersionId: ids.model }),
    });
    expect(res.status).toBe(404);
  });
  const mutations: [string, () => string, () => Record<string, unknown>, () => string, string][] = [
    [
      'admin Y revokes institution a',
      () => 'mutation($id: ID!) { revokeInstitution(institutionId: $id) { status } }',
      () => ({ id: a.id }),
      () => y.adminToken,
      'NOT_FOUND',
    ],
    [
      'admin Y certifies institution a',
      () => 'mutation($id: ID!) { certifyInstitution(institutionId: $id, csrPem: "x") { status } }',
      () => ({ id: a.id }),
      () => y.adminToken,
      'NOT_FOUND',
    ],
    [
      'admin Y registers an institution in X',
      () =>
        'mutation($c: ID!) { registerInstitution(consortiumId: $c, name: "intruder", displayName: "I") { token } }',
      () => ({ c: x.id }),
      () => y.adminToken,
      'NOT_FOUND',
    ],
    [
      'admin Y issues a member token for a',
      () => 'mutation($i: CreateAccessTokenInput!) { createAccessToken(input: $i) { token } }',
      () => ({ i: { consortiumId: x.id, role: 'member', institutionId: a.id } }),
      () => y.adminToken,
      'NOT_FOUND',
    ],
    [
      'admin Y issues an admin token for X',
      () => 'mutation($i: CreateAccessTokenInput!) { createAccessToken(input: $i) { token } }',
      () => ({ i: { consortiumId: x.id, role: 'admin' } }),
      () => y.adminToken,
      'NOT_FOUND',
    ],
    [
      "admin Y issues a token of its own consortium for X's institution",
      () => 'mutation($i: CreateAccessTokenInput!) { createAccessToken(input: $i) { token } }',
      () => ({ i: { consortiumId: y.id, role: 'member', institutionId: a.id } }),
      () => y.adminToken,
      'NOT_FOUND',
    ],
    [
      "admin Y revokes one of X's tokens",
      () => 'mutation($id: ID!) { revokeAccessToken(id: $id) { revokedAt } }',
      () => ({ id: xTokenId }),
      () => y.adminToken,
      'NOT_FOUND',
    ],
    [
      'admin Y starts a federation in X',
      () => 'mutation($input: StartFederationInput!) { startFederation(input: $input) { id } }',
      () => ({
        input: { consortiumId: x.id, name: 'evil', institutions: [a.name, b.name], secureAggregation: false },
      }),
      () => y.adminToken,
      'NOT_FOUND',
    ],
    [
      "admin Y cancels X's federation",
      () => 'mutation($id: ID!) { cancelFederation(id: $id) { id } }',
      () => ({ id: ids.federation }),
      () => y.adminToken,
      'NOT_FOUND',
    ],
    [
      "admin Y resumes X's federation",
      () => 'mutation($id: ID!) { resumeFederation(id: $id) { id } }',
      () => ({ id: ids.federation }),
      () => y.adminToken,
      'NOT_FOUND',
    ],
    [
      "z cancels X's federation",
      () => 'mutation($id: ID!) { cancelFederation(id: $id) { id } }',
      () => ({ id: ids.federation }),
      () => z.token,
      'NOT_FOUND',
    ],
    [
      "admin Y pins X's model version",
      () => 'mutation($id: ID!) { pinModelVersion(id: $id, pinned: true) { pinned } }',
      () => ({ id: ids.model }),
      () => y.adminToken,
      'NOT_FOUND',
    ],
    [
      "z pins X's model version",
      () => 'mutation($id: ID!) { pinModelVersion(id: $id, pinned: true) { pinned } }',
      () => ({ id: ids.model }),
      () => z.token,
      'NOT_FOUND',
    ],
    [
      "admin Y lists X's access tokens",
      () => 'query($c: ID!) { accessTokens(consortiumId: $c) { id } }',
      () => ({ c: x.id }),
      () => y.adminToken,
      'NOT_FOUND',
    ],
  ];
  it.each(mutations)('%s: %s', async (_l, query, vars, token, code) => {
    const result = await p.gql(query(), vars(), token());
    expect(result.errors?.[0].extensions?.code).toBe(code);
  });
  it("admin Y naming X's institutions in its own federation: refused by name, as not in Y", async () => {
    const result = await p.gql(
      'mutation($input: StartFederationInput!) { startFederation(input: $input) { id } }',
      {
        input: {
          consortiumId: y.id,
          name: 'borrow',
          institutions: [a.name, b.name],
          secureAggregation: false,
        },
      },
      y.adminToken,
    );
    expect(result.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(result.errors?.[0].message).toMatch(/is not registered in this consortium/);
  });
  it('none of the refused writes happened', async () => {
    const inst = await p.db.prisma.institution.findUniqueOrThrow({ where: { id: a.id } });
    expect(inst.status).not.toBe('revoked');
    expect(await p.db.prisma.institution.count({ where: { name: 'intruder' } })).toBe(0);
    expect(await p.db.prisma.federation.count()).toBe(1);
    expect((await p.rest('/api/v1/datasets', { token: a.token })).status).toBe(200);
    const model = await p.db.prisma.modelVersion.findUniqueOrThrow({ where: { id: ids.model } });
    expect(model.pinned).toBe(false);
  });
});

describe('roles within one consortium', () => {
  it.each([
    [
      'a member creates a consortium',
      'mutation { createConsortium(name: "m") { adminToken } }',
      () => ({}),
      () => a.token,
    ],
    [
      'an admin creates a consortium',
      'mutation { createConsortium(name: "adm") { adminToken } }',
      () => ({}),
      () => x.adminToken,
    ],
    [
      'a member registers an institution',
      'mutation($c: ID!) { registerInstitution(consortiumId: $c, name: "by-member", displayName: "M") { token } }',
      () => ({ c: x.id }),
      () => a.token,
    ],
    [
      'a member revokes another institution',
      'mutation($id: ID!) { revokeInstitution(institutionId: $id) { status } }',
      () => ({ id: b.id }),
      () => a.token,
    ],
    [
      'a member certifies itself',
      'mutation($id: ID!) { certifyInstitution(institutionId: $id, csrPem: "x") { status } }',
      () => ({ id: a.id }),
      () => a.token,
    ],
    [
      'a member issues an admin token',
      'mutation($i: CreateAccessTokenInput!) { createAccessToken(input: $i) { token } }',
      () => ({ i: { consortiumId: x.id, role: 'admin' } }),
      () => a.token,
    ],
    [
      'a member starts a federation',
      'mutation($input: StartFederationInput!) { startFederation(input: $input) { id } }',
      () => ({
        input: { consortiumId: x.id, name: 'm', institutions: [a.name, b.name], secureAggregation: false },
      }),
      () => a.token,
    ],
    [
      'a member cancels a federation',
      'mutation($id: ID!) { cancelFederation(id: $id) { id } }',
      () => ({ id: ids.federation }),
      () => a.token,
    ],
    [
      'a member resumes a federation',
      'mutation($id: ID!) { resumeFederation(id: $id) { id } }',
      () => ({ id: ids.federation }),
      () => a.token,
    ],
    [
      'a member pins a model version',
      'mutation($id: ID!) { pinModelVersion(id: $id, pinned: true) { pinned } }',
      () => ({ id: ids.model }),
      () => a.token,
    ],
  ] as const)('%s: FORBIDDEN', async (_l, query, vars, token) => {
    const result = await p.gql(query, vars(), token());
    expect(result.errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });
  it('the operator cannot act for an institution (no tenant of its own)', async () => {
    expect((await p.rest('/api/v1/datasets', { token: p.operatorToken })).status).toBe(403);
  });
});

describe('hostile query parameters (REST)', () => {
  it.each([
    ['/api/v1/annotations?limit=abc', /limit/],
    ['/api/v1/annotations?offset=abc', /offset/],
    ['/api/v1/annotations?offset=1e30', /offset/],
    ['/api/v1/annotations?limit=-5', /limit/],
    ['/api/v1/annotations?limit=1&limit=2', /limit/],
    ['/api/v1/datasets?institution=a&institution=b', /institution/],
  ])('GET %s: 400 naming the parameter', async (path, field) => {
    const res = await p.rest(path, { token: a.token });
    expect(res.status).toBe(400);
    expect(await messageOf(res)).toMatch(field);
  });
  it('GET /datasets/<a 10 KB id>: 404, not an error', async () => {
    expect((await p.rest(`/api/v1/datasets/${'9'.repeat(10_000)}`, { token: a.token })).status).toBe(404);
  });
  it('GET /datasets/<SQL in the id>: 404', async () => {
    const res = await p.rest(`/api/v1/datasets/${encodeURIComponent("' OR 1=1 --")}`, { token: a.token });
    expect(res.status).toBe(404);
  });
});

describe('institution names are platform-wide', () => {
  it('two consortia registering the same name at the same moment: exactly one succeeds, 10 times over', async () => {
    const consortia = await Promise.all([p.createConsortium('Race 1'), p.createConsortium('Race 2')]);
    for (let i = 0; i < 10; i++) {
      const name = `race-${i}-${p.suffix}`;
      const results = await Promise.all(
        consortia.map((c) =>
          p.gql(
            'mutation($c: ID!, $n: String!) { registerInstitution(consortiumId: $c, name: $n, displayName: "R") { queueUsername } }',
            { c: c.id, n: name },
            c.adminToken,
          ),
        ),
      );
      const ok = results.filter((r) => !r.errors?.length);
      expect(ok).toHaveLength(1);
      expect(results.find((r) => r.errors?.length)?.errors?.[0].extensions?.code).toBe('CONFLICT');
      expect(await p.db.prisma.institution.count({ where: { name } })).toBe(1);
    }
  });
});
