import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { ConfigError, parseApiConfig } from '../../apps/api/src/config/api-config';
import { createLogger } from '../../apps/api/src/security/logger';
import { createTestDatabase } from '../../scripts/local-stack/postgres';
import { startS3Server } from '../../scripts/local-stack/s3-server';
import {
  createConsortium,
  OPERATOR_TOKEN,
  REDIS_URL,
  startApi,
  type ApiHarness,
} from './support/api-harness';

/**
 * Issue 10, items 5 and 10: security headers on every surface, limits on failed authentications
 * and on requests, GraphQL limits, introspection and suggestions off in production.
 * Two apis: one as in development (defaults), one as in production with small limits. Requests
 * that must be counted apart come from their own loopback address (127.0.0.x), as separate
 * clients would.
 */

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** An HTTP request from a chosen local address (fetch cannot choose one). */
function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; localAddress?: string } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: options.method ?? 'GET', headers: options.headers, localAddress: options.localAddress },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

function gqlFrom(api: ApiHarness, localAddress: string, query: string, token?: string): Promise<RawResponse> {
  return rawRequest(`${api.url}/graphql`, {
    method: 'POST',
    localAddress,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query }),
  });
}

/** Opens a graphql-ws connection with connectionParams and reports how it ends. */
function wsConnect(
  api: ApiHarness,
  localAddress: string,
  authorization: string,
): Promise<{ acknowledged: boolean; code?: number; reason?: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${api.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws', {
      localAddress,
    });
    socket.on('open', () =>
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization } })),
    );
    socket.on('message', (data) => {
      if ((JSON.parse(String(data)) as { type: string }).type === 'connection_ack') {
        socket.close();
        resolve({ acknowledged: true });
      }
    });
    socket.on('close', (code, reason) => resolve({ acknowledged: false, code, reason: String(reason) }));
    socket.on('error', reject);
  });
}

/** Connects, runs `count` subscriptions one after the other, and returns their error codes. */
function wsSubscribe(
  api: ApiHarness,
  localAddress: string,
  authorization: string,
  count: number,
): Promise<{ errors: string[] }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${api.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws', {
      localAddress,
    });
    const errors: string[] = [];
    const next = () =>
      socket.send(
        JSON.stringify({
          id: String(errors.length),
          type: 'subscribe',
          payload: { query: 'subscription { federationProgress(federationId: "x") { kind } }' },
        }),
      );
    socket.on('open', () =>
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization } })),
    );
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as {
        type: string;
        payload?: { errors?: { extensions?: { code?: string } }[] };
      };
      if (message.type === 'connection_ack') return next();
      if (message.type !== 'next') return;
      errors.push(message.payload?.errors?.[0]?.extensions?.code ?? 'none');
      if (errors.length < count) return next();
      socket.close();
      resolve({ errors });
    });
    socket.on('close', (code) =>
      reject(new Error(`closed with ${code} after ${errors.length} subscriptions`)),
    );
    socket.on('error', reject);
  });
}

function cspOf(res: { headers: Headers }): string {
  return res.headers.get('content-security-policy') ?? '';
}

function expectCommonHeaders(res: Response, what: string): void {
  expect(res.headers.get('x-powered-by'), what).toBeNull();
  expect(res.headers.get('x-content-type-options'), what).toBe('nosniff');
  expect(res.headers.get('x-frame-options'), what).toBe('DENY');
  expect(res.headers.get('referrer-policy'), what).toBe('no-referrer');
  expect(cspOf(res), what).toContain("frame-ancestors 'none'");
}

const INTROSPECTION = '{ __schema { queryType { name } } }';

function deepQuery(depth: number): string {
  let selection = 'id';
  for (let i = 0; i < depth - 2; i++) selection = `f${i} { ${selection} }`;
  return `{ federations { rounds { ${selection} } } }`;
}

/** The attack of the issue: 1,000 aliases of a nested federations query (about 23 KB). */
function aliasBomb(count: number): string {
  const one = (i: number) =>
    `a${i}: federations { id name status rounds { number status losses participants } }`;
  return `{ ${Array.from({ length: count }, (_, i) => one(i)).join(' ')} }`;
}

describe('api: HTTP hardening (development defaults)', () => {
  let api: ApiHarness;
  let adminToken: string;

  beforeAll(async () => {
    api = await startApi('hardening_dev');
    adminToken = (await createConsortium(api, 'Hardening dev')).adminToken;
  });

  afterAll(async () => {
    await api?.close();
  });

  it('should send the security headers on REST, GraphQL, the docs and the dashboard, errors included', async () => {
    const surfaces: [string, Response][] = [
      ['REST 401', await api.rest('/api/v1/datasets')],
      ['REST 404', await api.rest('/api/v1/no-such-route')],
      [
        'GraphQL',
        await api.rest('/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: '{ __typename }' }),
        }),
      ],
      ['docs', await api.rest('/api/docs')],
      ['docs json', await api.rest('/api/docs-json')],
      ['dashboard', await api.rest('/dashboard')],
      ['health', await api.rest('/health/live')],
    ];
    for (const [what, res] of surfaces) expectCommonHeaders(res, what);
    // No HSTS unless configured: the api may serve plain HTTP on loopback.
    expect(surfaces[0][1].headers.get('strict-transport-security')).toBeNull();
  });

  it('should give JSON answers a CSP that allows nothing', async () => {
    const res = await api.rest('/api/v1/datasets');
    expect(cspOf(res)).toContain("default-src 'none'");
  });

  it('should still serve the API docs with their assets, inline styles allowed there only', async () => {
    const page = await api.rest('/api/docs');
    expect(page.status).toBe(200);
    const csp = cspOf(page);
    expect(csp).toMatch(/style-src 'self' 'unsafe-inline'/);
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    const html = await page.text();
    // Every script the page loads is a file from this origin (script-src 'self' allows them).
    const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, body] of scripts) {
      expect(body.trim(), 'inline script').toBe('');
      const src = /src=["']([^"']+)["']/.exec(attrs)![1];
      const asset = await api.rest(`/api/docs/${src.replace(/^\.?\/?(api\/docs\/)?/, '')}`);
      expect(asset.status, src).toBe(200);
    }
    expect(cspOf(await api.rest('/api/v1/datasets'))).not.toContain('unsafe-inline');
  });

  it('should still serve the dashboard with the policy Vega needs, and its files', async () => {
    const page = await api.rest('/dashboard');
    expect(page.status).toBe(200);
    expect(cspOf(page)).toContain("script-src 'self' 'unsafe-eval'");
    expect(await page.text()).not.toMatch(/<script>(?!\s*<\/script>)/);
    for (const file of ['console.js', 'api.js', 'rounds.js', 'dashboard.css', 'vendor/vega.min.js']) {
      const res = await api.rest(`/dashboard/${file}`);
      expect(res.status, file).toBe(200);
      expect(res.headers.get('x-content-type-options'), file).toBe('nosniff');
    }
  });

  it('should serve GraphiQL in development with its inline script allowed by hash', async () => {
    const res = await api.rest('/graphql', { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('GraphiQL');
    const inline = /<script>([\s\S]*?)<\/script>/.exec(html)![1];
    const { createHash } = await import('node:crypto');
    const hash = createHash('sha256').update(inline).digest('base64');
    expect(cspOf(res)).toContain(`'sha256-${hash}'`);
    expect(cspOf(res)).not.toMatch(/script-src[^;]*'unsafe-inline'/);
  });

  it('should allow introspection and suggestions in development', async () => {
    const result = await api.gql<{ __schema: { queryType: { name: string } } }>(INTROSPECTION);
    expect(result.data?.__schema.queryType.name).toBe('Query');
    const typo = await api.gql('{ federatons { id } }', {}, adminToken);
    expect(typo.errors?.[0].message).toMatch(/Did you mean "federations/);
  });

  it('should refuse 1,000 aliases of a nested federations query with a 400 naming the limit', async () => {
    const query = aliasBomb(1000);
    expect(query.length).toBeGreaterThan(20_000);
    const started = performance.now();
    const res = await api.rest('/graphql', {
      method: 'POST',
      token: adminToken,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query }),
    });
    const elapsed = performance.now() - started;
    const body = await res.text();
    expect(res.status).toBe(400);
    expect(body).toMatch(/more tha[nt] 2000 tokens/);
    expect(body.length).toBeLessThan(2000);
    console.log(`1,000-alias query (${query.length} bytes) refused in ${elapsed.toFixed(0)} ms`);
  });

  it('should refuse more aliases than allowed even in a short document', async () => {
    const query = `{ ${Array.from({ length: 16 }, (_, i) => `m${i}: me { kind }`).join(' ')} }`;
    const res = await api.rest('/graphql', {
      method: 'POST',
      token: adminToken,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query }),
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/Aliases limit of 15 exceeded/);
  });

  it('should refuse a depth-20 query with a 400 naming the limit', async () => {
    const res = await api.rest('/graphql', {
      method: 'POST',
      token: adminToken,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: deepQuery(20) }),
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/Query depth limit of 10 exceeded/);
  });

  it('should refuse batched (array) GraphQL requests', async () => {
    const res = await api.rest('/graphql', {
      method: 'POST',
      token: adminToken,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ query: '{ me { kind } }' }, { query: '{ me { kind } }' }]),
    });
    expect(res.status).toBe(400);
  });

  it('should apply the same limits to subscriptions, answering with errors', async () => {
    const aliases = `subscription { ${Array.from({ length: 16 }, (_, i) => `e${i}: federationProgress(federationId: "x") { kind }`).join(' ')} }`;
    const tokens = `subscription { federationProgress(federationId: "x") { ${'kind '.repeat(2100)} } }`;
    const errors = await new Promise<string[]>((resolve, reject) => {
      const socket = new WebSocket(`${api.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
      const found: string[] = [];
      const queries = [aliases, tokens];
      const next = () =>
        socket.send(
          JSON.stringify({
            id: String(found.length),
            type: 'subscribe',
            payload: { query: queries[found.length] },
          }),
        );
      socket.on('open', () =>
        socket.send(
          JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${adminToken}` } }),
        ),
      );
      socket.on('message', (data) => {
        const message = JSON.parse(String(data)) as { type: string; payload?: unknown };
        if (message.type === 'connection_ack') return next();
        if (message.type !== 'error') return;
        found.push(JSON.stringify(message.payload));
        if (found.length < queries.length) return next();
        socket.close();
        resolve(found);
      });
      socket.on('close', (code) => reject(new Error(`closed with ${code}`)));
      socket.on('error', reject);
    });
    expect(errors[0]).toMatch(/Aliases limit of 15 exceeded/);
    expect(errors[1]).toMatch(/more tha[nt] 2000 tokens/);
  });

  it("should not slow down a valid token's normal use", async () => {
    const statuses: number[] = [];
    for (let batch = 0; batch < 20; batch++) {
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          i % 2 === 0
            ? api.rest('/api/v1/datasets', { token: adminToken })
            : api.rest('/graphql', {
                method: 'POST',
                token: adminToken,
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify({ query: '{ me { kind } federations { id } }' }),
              }),
        ),
      );
      statuses.push(...answers.map((r) => r.status));
    }
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
  });
});

describe('api: HTTP hardening (production, small limits)', () => {
  let api: ApiHarness;
  let adminToken: string;

  beforeAll(async () => {
    api = await startApi('hardening_prod', {
      NODE_ENV: 'production',
      AUTH_FAILURES_PER_MINUTE: '5',
      AUTH_FAILURE_BLOCK_SECONDS: '120',
      RATE_LIMIT_PER_MINUTE: '100',
      API_HSTS_MAX_AGE: '31536000',
    });
    adminToken = (await createConsortium(api, 'Hardening prod')).adminToken;
  });

  afterAll(async () => {
    await api?.close();
  });

  it('should refuse introspection, anonymous or not', async () => {
    for (const token of [undefined, adminToken, OPERATOR_TOKEN]) {
      const result = await api.gql(INTROSPECTION, {}, token);
      expect(result.data ?? undefined).toBeUndefined();
      expect(result.errors?.[0].message).toMatch(/introspection/i);
    }
  });

  it('should not serve GraphiQL', async () => {
    const res = await api.rest('/graphql', { headers: { accept: 'text/html' } });
    expect(await res.text()).not.toContain('GraphiQL');
  });

  it('should not suggest field names', async () => {
    const typo = await api.gql('{ federatons { id } }', {}, adminToken);
    expect(typo.errors?.[0].message).toMatch(/Cannot query field "federatons"/);
    expect(typo.errors?.[0].message).not.toMatch(/Did you mean|federations/);
  });

  it('should send HSTS when configured', async () => {
    const res = await api.rest('/api/v1/datasets');
    expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
  });

  it('should answer 429 with Retry-After after 5 bad tokens, also to a valid token, while other clients go on', async () => {
    const from = '127.0.0.2';
    const rest = (token: string) =>
      rawRequest(`${api.url}/api/v1/datasets`, {
        localAddress: from,
        headers: { authorization: `Bearer ${token}` },
      });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await rest(`bad-token-${i}`)).status);
    // GraphQL failures count towards the same limit.
    for (let i = 0; i < 2; i++) {
      const res = await gqlFrom(api, from, '{ me { kind } }', `bad-gql-token-${i}`);
      expect(res.body).toMatch(/UNAUTHENTICATED/);
      statuses.push(res.status);
    }
    // REST answers 401; GraphQL answers 200 with an UNAUTHENTICATED error.
    expect(statuses).toEqual([401, 401, 401, 200, 200]);
    const blocked = await rest('bad-token-6');
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(60);
    expect(blocked.body).toMatch(/Too many failed sign-ins from this address; try again in \d+ s\./);
    // The block holds for any token from that client, so a lucky guess is not told apart.
    expect((await rest(adminToken)).status).toBe(429);
    const gqlBlocked = await gqlFrom(api, from, '{ me { kind } }', adminToken);
    expect(gqlBlocked.body).toMatch(/TOO_MANY_REQUESTS/);
    expect(Number(gqlBlocked.headers['retry-after'])).toBeGreaterThan(60);
    // Another client with a valid token is not affected.
    const other = await rawRequest(`${api.url}/api/v1/datasets`, {
      localAddress: '127.0.0.1',
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(other.status).toBe(200);
  });

  it('should count bad tokens at subscription connection_init too, once per connection', async () => {
    const from = '127.0.0.3';
    const ends = [];
    for (let i = 0; i < 5; i++) {
      // Acknowledged as before (each subscription then answers UNAUTHENTICATED), but counted.
      ends.push(await wsSubscribe(api, from, `Bearer bad-ws-token-${i}`, 3));
    }
    expect(ends.map((e) => e.errors)).toEqual(
      Array(5).fill(['UNAUTHENTICATED', 'UNAUTHENTICATED', 'UNAUTHENTICATED']),
    );
    const blocked = await wsConnect(api, from, 'Bearer bad-ws-token-6');
    expect(blocked.code).toBe(4429);
    expect(blocked.reason).toMatch(/Too many failed sign-ins/);
    // Blocked for HTTP as well: it is one client.
    expect((await gqlFrom(api, from, '{ me { kind } }', adminToken)).body).toMatch(/TOO_MANY_REQUESTS/);
    // A valid token from another client connects.
    expect((await wsConnect(api, '127.0.0.1', `Bearer ${adminToken}`)).acknowledged).toBe(true);
  });

  it('should limit requests per client and minute, never the health probes', async () => {
    const from = '127.0.0.4';
    const statuses: number[] = [];
    for (let i = 0; i < 100; i++) {
      statuses.push((await rawRequest(`${api.url}/dashboard`, { localAddress: from })).status);
    }
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    const refused = await rawRequest(`${api.url}/dashboard`, { localAddress: from });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.body).toMatch(/Too many requests from this address \(limit 100 a minute\)/);
    expect((await rawRequest(`${api.url}/health/live`, { localAddress: from })).status).toBe(200);
  });
});

describe('api: hardening settings', () => {
  const base = {
    DATABASE_URL: 'postgresql://u@127.0.0.1:5432/db',
    REDIS_URL: 'redis://127.0.0.1:6379',
    S3_ENDPOINT: '127.0.0.1',
    S3_PORT: '9000',
    S3_USE_SSL: 'false',
    S3_ACCESS_KEY: 'k',
    S3_SECRET_KEY: 's',
    S3_BUCKET: 'bucket',
    SCPRIVACY_MASTER_KEY: 'x'.repeat(32),
    PLATFORM_ADMIN_TOKEN: 'y'.repeat(16),
  };

  it('should turn introspection off in production unless GRAPHQL_INTROSPECTION says otherwise', () => {
    expect(parseApiConfig(base).http.graphqlIntrospection).toBe(true);
    expect(parseApiConfig({ ...base, NODE_ENV: 'production' }).http.graphqlIntrospection).toBe(false);
    expect(
      parseApiConfig({ ...base, NODE_ENV: 'production', GRAPHQL_INTROSPECTION: 'on' }).http
        .graphqlIntrospection,
    ).toBe(true);
    expect(parseApiConfig({ ...base, GRAPHQL_INTROSPECTION: 'off' }).http.graphqlIntrospection).toBe(false);
  });

  it('should have safe defaults: 20 failures a minute, a generous request limit, no HSTS, no proxy trusted', () => {
    const { http } = parseApiConfig(base);
    expect(http).toMatchObject({
      authFailuresPerMinute: 20,
      authFailureBlockSeconds: 60,
      rateLimitPerMinute: 3000,
      hstsMaxAgeSeconds: 0,
      trustProxy: false,
      graphqlMaxDepth: 10,
      graphqlMaxAliases: 15,
      graphqlMaxTokens: 2000,
      logFormat: 'text',
    });
  });

  it('should name a bad setting and what was expected', () => {
    expect(() => parseApiConfig({ ...base, API_TRUST_PROXY: 'not an address' })).toThrow(
      /API_TRUST_PROXY must be off, true, a number of proxies, or addresses/,
    );
    expect(() => parseApiConfig({ ...base, LOG_FORMAT: 'xml' })).toThrow(ConfigError);
    expect(() => parseApiConfig({ ...base, RATE_LIMIT_PER_MINUTE: 'many' })).toThrow(/RATE_LIMIT_PER_MINUTE/);
    expect(parseApiConfig({ ...base, API_TRUST_PROXY: 'loopback, 10.0.0.0/8' }).http.trustProxy).toBe(
      'loopback, 10.0.0.0/8',
    );
  });
});

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[/;

describe('api: log colours', () => {
  function printed(settings: Parameters<typeof createLogger>[0]): string {
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      createLogger(settings).log('hello', 'Test');
      return write.mock.calls.map(([chunk]) => String(chunk)).join('');
    } finally {
      write.mockRestore();
    }
  }

  it('should colour only a terminal without NO_COLOR', () => {
    expect(printed({ format: 'text', levels: ['log'], isTTY: true })).toMatch(ANSI);
    expect(printed({ format: 'text', levels: ['log'], isTTY: false })).not.toMatch(ANSI);
    expect(printed({ format: 'text', levels: ['log'], isTTY: true, noColor: true })).not.toMatch(ANSI);
    const json = printed({ format: 'json', levels: ['log'], isTTY: true });
    expect(JSON.parse(json)).toMatchObject({ level: 'log', message: 'hello', context: 'Test' });
  });

  it('should print no ANSI codes from the built api when its output is a pipe', async () => {
    const database = await createTestDatabase('api_hardening_log');
    const s3 = await startS3Server();
    try {
      const env = {
        PATH: process.env.PATH ?? '',
        DATABASE_URL: database.url,
        REDIS_URL,
        S3_ENDPOINT: s3.endPoint,
        S3_PORT: String(s3.port),
        S3_USE_SSL: 'false',
        S3_ACCESS_KEY: s3.accessKey,
        S3_SECRET_KEY: s3.secretKey,
        S3_BUCKET: `hardening-log-${randomBytes(3).toString('hex')}`,
        SCPRIVACY_MASTER_KEY: randomBytes(32).toString('hex'),
        PLATFORM_ADMIN_TOKEN: OPERATOR_TOKEN,
        API_PORT: '0',
        ANNOTATION_WORKER: 'off',
      };
      for (const format of ['text', 'json']) {
        const out = await runUntilListening({ ...env, LOG_FORMAT: format });
        expect(out).toMatch(/listening on http/);
        expect(out).not.toMatch(ANSI);
        if (format === 'json') {
          for (const line of out.trim().split('\n')) expect(() => JSON.parse(line), line).not.toThrow();
        }
      }
    } finally {
      await s3.stop();
      await database.drop();
    }
  });
});

/** Starts dist/api/main.js with piped output, stops it once it listens; what it printed. */
function runUntilListening(env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['dist/api/main.js'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (/listening on http/.test(out)) child.kill('SIGTERM');
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('exit', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}
