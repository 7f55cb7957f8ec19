import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Platform, type Consortium, type Institution } from './support/platform';

/**
 * GraphQL abuse against the built api in production mode (NODE_ENV=production): introspection,
 * GraphiQL and field suggestions off; depth, alias, directive, token and cost limits refuse a
 * small request that would make a large answer (1,000 aliases of a nested query once took 5 s and
 * 5.7 MB); batches, cycles and bad variables are refused with a GraphQL error code. Then the
 * security headers, and last (it blocks this client) the 429 after a burst of bad tokens.
 */

let p: Platform;
let x: Consortium;
let a: Institution;

beforeAll(async () => {
  p = new Platform({ label: 'graphql', nodeEnv: 'production' });
  await p.start();
  x = await p.createConsortium('GraphQL X');
  a = await p.registerInstitution(x, 'ga');
  await p.registerInstitution(x, 'gb');
}, 120_000);

afterAll(async () => {
  await p?.stop();
});

interface Timed {
  status: number;
  ms: number;
  bytes: number;
  body: { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] } | unknown[] | null;
}

async function post(
  body: string | Uint8Array,
  token: string | undefined = a.token,
  contentType?: string,
): Promise<Timed> {
  const started = performance.now();
  const res = await p.gqlRaw(body, token, contentType);
  const text = await res.text();
  const ms = performance.now() - started;
  let parsed: Timed['body'] = null;
  try {
    parsed = JSON.parse(text) as Timed['body'];
  } catch {
    /* not JSON */
  }
  return { status: res.status, ms, bytes: text.length, body: parsed };
}

const query = (q: string, variables: unknown = {}, token?: string) =>
  post(JSON.stringify({ query: q, variables }), token);
const errorsOf = (t: Timed) => (Array.isArray(t.body) ? undefined : t.body?.errors);
const REFUSED = ['GRAPHQL_VALIDATION_FAILED', 'GRAPHQL_PARSE_FAILED', 'BAD_USER_INPUT', 'BAD_REQUEST'];

/** Refused before execution: an error with a known code, no data, a small answer, quickly. */
function expectRefused(t: Timed, message?: RegExp): void {
  const errors = errorsOf(t);
  expect(errors?.length, JSON.stringify(t.body)?.slice(0, 300)).toBeGreaterThan(0);
  expect(REFUSED).toContain(errors![0].extensions?.code);
  if (message) expect(errors!.map((e) => e.message).join(' ')).toMatch(message);
  expect((t.body as { data?: unknown }).data ?? null).toBeNull();
  expect(t.bytes).toBeLessThan(64 * 1024);
  expect(t.ms).toBeLessThan(2000);
}

describe('schema discovery in production', () => {
  it.each([
    ['__schema as a member', '{ __schema { types { name fields { name } } } }', true],
    ['__schema anonymously', '{ __schema { queryType { name } } }', false],
    ['__type as a member', '{ __type(name: "Query") { fields { name } } }', true],
    ['__type anonymously', '{ __type(name: "Mutation") { fields { name } } }', false],
    [
      '__schema nested in a fragment',
      'query { ...F } fragment F on Query { __schema { types { name } } }',
      true,
    ],
  ] as const)('introspection via %s: refused', async (_l, q, withToken) => {
    expectRefused(await query(q, {}, withToken ? a.token : undefined), /introspection/i);
  });
  it('__typename alone still works (clients rely on it)', async () => {
    const t = await query('{ __typename }');
    expect((t.body as { data?: unknown }).data).toEqual({ __typename: 'Query' });
  });
  it.each([
    ['a misspelt query field', '{ datasetz { id } }'],
    ['a misspelt object field', '{ datasets { idd } }'],
    ['a misspelt mutation', 'mutation { createConsortiun(name: "x") { adminToken } }'],
  ])('%s: no "Did you mean" suggestions', async (_l, q) => {
    const t = await query(q);
    const errors = errorsOf(t);
    expect(errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(errors!.map((e) => e.message).join(' ')).not.toMatch(/Did you mean/);
  });
  it('GraphiQL is not served', async () => {
    const res = await fetch(`${p.url}/graphql`, { headers: { accept: 'text/html' } });
    const text = await res.text();
    expect(text).not.toMatch(/graphiql/i);
  });
});

describe('queries that would make large answers', () => {
  const nested = (depth: number) =>
    `{ ${'consortia { institutions { datasets { id } } } '.repeat(1)}${'me { '.repeat(depth)}kind${' }'.repeat(depth)} }`;
  it.each([
    [
      '1,000 aliases of a nested federations query',
      `{ ${Array.from({ length: 1000 }, (_, i) => `f${i}: federations { id rounds { number } modelVersions { id } }`).join(' ')} }`,
      // 11,000 tokens: the parser's token limit stops it before the alias rule runs (the
      // 100-alias case below, under the token limit, meets the alias rule).
      /alias|token/i,
    ],
    [
      '100 aliases of consortia',
      `{ ${Array.from({ length: 100 }, (_, i) => `c${i}: consortia { id }`).join(' ')} }`,
      /alias/i,
    ],
    ['a selection 50 levels deep', nested(50), /depth/i],
    ['a selection 1,000 levels deep', nested(1000), /depth|token/i],
    ['10,000 repeated fields', `{ me { ${'kind '.repeat(10_000)} } }`, /token|cost/i],
    [
      '1,000 directives on one field',
      `{ me ${'@include(if: true) '.repeat(1000)} { kind } }`,
      /directive|token/i,
    ],
    ['a 2 MB document of fields', `{ ${'datasets { id } '.repeat(120_000)} }`, /token|alias|cost|large/i],
  ])('%s: refused before execution', async (_l, q, message) => {
    const t = await query(q);
    if (t.status === 413) return; // a body-size limit in front of GraphQL is as good
    expectRefused(t, message);
  });
  it('a 5 MB document of whitespace and comments: refused quickly, api alive', async () => {
    const t = await query(`{ me { kind } } ${'# padding\n'.repeat(500_000)}`);
    expect([400, 413]).toContain(t.status);
    expect(t.ms).toBeLessThan(3000);
    expect(await p.alive()).toBe(true);
  });
  it('an argument value nested 100,000 lists deep: refused, api alive', async () => {
    const t = await query(`{ federation(id: ${'['.repeat(100_000)}1${']'.repeat(100_000)}) { id } }`);
    expect([400, 413]).toContain(t.status);
    expect(await p.alive()).toBe(true);
  });
  it('a mutually recursive pair of fragments: refused', async () => {
    expectRefused(
      await query('{ me { ...A } } fragment A on Me { kind ...B } fragment B on Me { kind ...A }'),
      /cannot spread fragment|cycle/i,
    );
  });
  it('a 5 KB legitimate query with a few aliases still works', async () => {
    const t = await query('{ a: datasets { id } b: federations { id } c: me { kind } }');
    expect(errorsOf(t)).toBeUndefined();
  });
});

describe('batches, bodies and variables', () => {
  it('an array of 100 operations (batching): refused', async () => {
    const batch = JSON.stringify(Array.from({ length: 100 }, () => ({ query: '{ me { kind } }' })));
    const t = await post(batch);
    expect(t.status).toBe(400);
    expect(JSON.stringify(t.body)).not.toMatch(/"kind"/);
  });
  it('an array of 10,000 operations: refused quickly', async () => {
    const t = await post(
      JSON.stringify(Array.from({ length: 10_000 }, () => ({ query: '{ datasets { id } }' }))),
    );
    // A body-size limit in front of GraphQL (413) is as good as the batching refusal.
    expect([400, 413]).toContain(t.status);
    expect(t.ms).toBeLessThan(2000);
  });
  it.each([
    ['not JSON', '{"query": "{ me { kind } }"'],
    ['JSON without a query', '{"variables": {}}'],
    ['a query that is a number', '{"query": 42}'],
    ['variables that are a string', '{"query": "{ me { kind } }", "variables": "abc"}'],
    ['a null body', 'null'],
  ])('a body with %s: 400', async (_l, body) => {
    const t = await post(body);
    expect(t.status).toBe(400);
  });
  it('text/plain (a CSRF-style simple request): refused', async () => {
    const res = await fetch(`${p.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', authorization: `Bearer ${a.token}` },
      body: JSON.stringify({ query: 'mutation { createConsortium(name: "csrf") { adminToken } }' }),
    });
    expect(res.status).toBe(400);
  });
  it('a mutation over GET: refused', async () => {
    const q = encodeURIComponent('mutation { createConsortium(name: "get") { adminToken } }');
    const res = await fetch(`${p.url}/graphql?query=${q}`, {
      headers: { authorization: `Bearer ${p.operatorToken}`, 'apollo-require-preflight': 'true' },
    });
    expect([400, 405]).toContain(res.status);
    expect(await p.db.prisma.consortium.count({ where: { name: 'get' } })).toBe(0);
  });
  it.each([
    ['an object for an ID', { id: { $ne: null } }, 'BAD_USER_INPUT'],
    ['a list for an ID', { id: ['a', 'b'] }, 'BAD_USER_INPUT'],
    ['null for a required ID', { id: null }, 'BAD_USER_INPUT'],
    ['a missing required ID', {}, 'BAD_USER_INPUT'],
    ['a 1 MB string ID', { id: 'x'.repeat(1024 * 1024) }, 'NOT_FOUND'],
    ['SQL in an ID', { id: "' OR '1'='1" }, 'NOT_FOUND'],
  ] as const)('variables with %s: %s, never a 500', async (_l, variables, code) => {
    const t = await query('query($id: ID!) { federation(id: $id) { id } }', variables);
    if (t.status === 413) return;
    expect(errorsOf(t)?.[0].extensions?.code).toBe(code);
    expect(t.status).toBeLessThan(500);
  });
  it('a JSON scalar input nested 10,000 deep: refused, api alive', async () => {
    // Built as text: JSON.stringify itself cannot go this deep.
    const deep = `${'{"d":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
    const t = await post(
      `{"query": "query($i: StartFederationInput!) { __typename }", "variables": {"i": ${deep}}}`,
    );
    expect(t.status).toBeLessThan(500);
    expect(await p.alive()).toBe(true);
  });
});

describe('security headers', () => {
  const targets: [string, () => Promise<Response>][] = [
    ['/api/v1/datasets', () => p.rest('/api/v1/datasets', { token: a.token })],
    ['/graphql', () => p.gqlRaw(JSON.stringify({ query: '{ me { kind } }' }), a.token)],
    ['/api/docs', () => p.rest('/api/docs')],
    ['/health/live', () => p.rest('/health/live')],
  ];
  it.each(targets)('%s: no X-Powered-By', async (_l, send) => {
    expect((await send()).headers.get('x-powered-by')).toBeNull();
  });
  it.each(targets)('%s: X-Content-Type-Options nosniff', async (_l, send) => {
    expect((await send()).headers.get('x-content-type-options')).toBe('nosniff');
  });
  it.each(targets)('%s: framing forbidden (X-Frame-Options or CSP frame-ancestors)', async (_l, send) => {
    const res = await send();
    const xfo = res.headers.get('x-frame-options') ?? '';
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(/deny|sameorigin/i.test(xfo) || /frame-ancestors/.test(csp)).toBe(true);
  });
});

// Last: the burst gets this client refused for a while.
describe('a burst of bad tokens', () => {
  it('answers 429 (with Retry-After) well before 300 bad tokens', async () => {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 300 && !statuses.includes(429); i++) {
      const res = await p.rest('/api/v1/datasets', { token: `scp_guess_${i}_0123456789abcdef` });
      statuses.push(res.status);
      if (res.status === 429) retryAfter = res.headers.get('retry-after');
      await res.arrayBuffer();
    }
    expect(statuses).toContain(429);
    expect(statuses.indexOf(429)).toBeLessThan(100);
    expect(retryAfter).toMatch(/^\d+$/);
  });
  it('the GraphQL side of the burst is refused as well (429 or TOO_MANY_REQUESTS)', async () => {
    const res = await p.gqlRaw(JSON.stringify({ query: '{ me { kind } }' }), 'scp_guess_graphql_0123456789');
    const text = await res.text();
    expect(res.status === 429 || /TOO_MANY_REQUESTS|429/.test(text)).toBe(true);
  });
  it('the api still answers /health/live', async () => {
    expect(await p.alive()).toBe(true);
  });
});
