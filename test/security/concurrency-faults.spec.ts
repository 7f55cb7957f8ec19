import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { objectKeys } from '@fl/platform';
import { formWith, messageOf, Platform, type Consortium, type Institution } from './support/platform';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy';

/**
 * Concurrency and faults against the built api: 20 uploads at once (each stored whole, with its
 * own sha256 and summary), 20 uploads racing for one name, and the dependencies failing under it:
 * the object store down (503, not a crash), Postgres refusing connections at a request (a clean
 * error), Redis restarted. Through it all the api keeps answering /health/live and is never
 * restarted. Postgres and the object store are reached through TCP proxies the test can cut.
 */

let p: Platform;
let pgProxy: TcpProxy;
let s3Proxy: TcpProxy;
let x: Consortium;
let a: Institution;
let b: Institution;

const TYPES = ['T cell', 'B cell', 'NK cell', 'Monocyte'];
const GENES = Array.from({ length: 40 }, (_, g) => `GENE${g}`);

/** Reference number `i`: 30 + i cells, its own values, types cycling. */
function reference(i: number): { csv: string; cells: number; typeCounts: Record<string, number> } {
  const cells = 30 + i;
  const typeCounts: Record<string, number> = {};
  const rows = [`cell_id,${GENES.join(',')},cell_label`];
  for (let c = 0; c < cells; c++) {
    const type = TYPES[c % TYPES.length];
    typeCounts[type] = (typeCounts[type] ?? 0) + 1;
    rows.push(`r${i}c${c},${GENES.map((_, g) => ((c * 31 + g * 7 + i) % 13) / 4).join(',')},${type}`);
  }
  return { csv: `${rows.join('\n')}\n`, cells, typeCounts };
}

beforeAll(async () => {
  p = new Platform({
    label: 'faults',
    beforeApi: async (platform) => {
      pgProxy = await startTcpProxy(Number(new URL(platform.db.url).port || 5432));
      s3Proxy = await startTcpProxy(platform.s3.port);
    },
    rewireEnv: (env) => {
      const db = new URL(env.DATABASE_URL);
      db.port = String(pgProxy.port);
      return { ...env, DATABASE_URL: db.toString(), S3_PORT: String(s3Proxy.port) };
    },
  });
  await p.start();
  x = await p.createConsortium('Faults X');
  a = await p.registerInstitution(x, 'ca');
  b = await p.registerInstitution(x, 'cb');
}, 120_000);

afterAll(async () => {
  await p?.stop();
  await pgProxy?.close();
  await s3Proxy?.close();
});

const upload = (inst: Institution, fileName: string, data: string, name: string) =>
  p.rest(`/api/v1/institutions/${inst.name}/datasets`, {
    method: 'POST',
    token: inst.token,
    body: formWith(fileName, data, { name }),
  });

describe('20 uploads at once', () => {
  const refs = Array.from({ length: 20 }, (_, i) => reference(i));
  const results: { status: number; body: Record<string, unknown> }[] = [];
  beforeAll(async () => {
    const answers = await Promise.all(
      refs.map((r, i) => upload(i % 2 ? b : a, `ref-${i}.csv`, r.csv, `concurrent-${i}`)),
    );
    for (const res of answers)
      results.push({ status: res.status, body: (await res.json()) as Record<string, unknown> });
  }, 120_000);

  it('all 20 are stored (201) and listed once each', async () => {
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(201));
    expect(await p.db.prisma.dataset.count({ where: { name: { startsWith: 'concurrent-' } } })).toBe(20);
  });
  it.each(Array.from({ length: 20 }, (_, i) => i))(
    'upload %i: its own sha256, summary and object',
    async (i) => {
      const { csv, cells, typeCounts } = refs[i];
      const body = results[i].body as {
        id: string;
        sha256: string;
        cells: number;
        genes: number;
        typeCounts: unknown;
      };
      const sha = createHash('sha256').update(csv).digest('hex');
      expect(body).toMatchObject({ sha256: sha, cells, genes: GENES.length, typeCounts });
      const inst = i % 2 ? b : a;
      const stored = await p.store.getBuffer(objectKeys.dataset(inst.name, body.id, `ref-${i}.csv`), sha);
      expect(stored.toString()).toBe(csv);
    },
  );
  it('20 uploads racing for one name: exactly one stored, the others 409', async () => {
    const { csv } = reference(99);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => upload(a, 'same.csv', csv, 'one-name')),
    );
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    expect(await p.db.prisma.dataset.count({ where: { name: 'one-name' } })).toBe(1);
    // The losers left no object behind.
    const keys = await p.store.list(`institutions/${a.name}/`);
    expect(keys.filter((k) => k.endsWith('/same.csv'))).toHaveLength(1);
  });
});

async function liveWithin(ms: number): Promise<boolean> {
  const started = performance.now();
  const ok = await p.alive(5000);
  return ok && performance.now() - started < ms;
}

describe('the object store down', () => {
  beforeAll(async () => {
    await s3Proxy.down();
  });
  afterAll(async () => {
    await s3Proxy.up();
  });
  it('an upload answers 503 naming the object store, and stores nothing', async () => {
    const before = await p.db.prisma.dataset.count();
    const res = await upload(a, 'during-outage.csv', reference(1).csv, 'during-s3-outage');
    expect(res.status).toBe(503);
    expect(await messageOf(res)).toMatch(/object store|storage/i);
    expect(await p.db.prisma.dataset.count()).toBe(before);
  });
  it('a model bundle download answers 503 or 404, never 500', async () => {
    const res = await p.rest('/api/v1/model-versions/00000000-0000-0000-0000-000000000000/bundle', {
      token: a.token,
    });
    expect([404, 503]).toContain(res.status);
  });
  it('/health/ready answers 503 naming the object store', async () => {
    const res = await p.rest('/health/ready');
    expect(res.status).toBe(503);
    expect(await messageOf(res)).toMatch(/object store/);
  });
  it('/health/live still answers within 100 ms', async () => {
    expect(await liveWithin(100)).toBe(true);
  });
});

describe('the object store back', () => {
  it('uploads work again without restarting the api', async () => {
    const res = await upload(a, 'after-outage.csv', reference(2).csv, 'after-s3-outage');
    expect(res.status).toBe(201);
    expect(p.restarts).toBe(0);
  });
});

describe('Postgres refusing connections', () => {
  beforeAll(async () => {
    await pgProxy.down();
  });
  afterAll(async () => {
    await pgProxy.up();
  });
  it('a REST read answers a clean 503 (no stack, no connection string)', async () => {
    const res = await p.rest('/api/v1/datasets', { token: a.token, signal: AbortSignal.timeout(20_000) });
    const text = await res.text();
    expect(res.status).toBe(503);
    expect(text).not.toMatch(/\n\s+at |postgresql:\/\/|prisma/i);
  });
  it('a GraphQL read answers a clean error code', async () => {
    const result = await p.gql('{ datasets { id } }', {}, a.token);
    expect(['SERVICE_UNAVAILABLE', 'INTERNAL_SERVER_ERROR']).toContain(result.errors?.[0].extensions?.code);
    expect(JSON.stringify(result)).not.toMatch(/postgresql:\/\/|\\n\s+at /);
  });
  it('an upload answers a clean 503 and leaves no object behind', async () => {
    const before = (await p.store.list(`institutions/${a.name}/`)).length;
    const res = await upload(a, 'pg-down.csv', reference(3).csv, 'during-pg-outage');
    expect(res.status).toBe(503);
    expect((await p.store.list(`institutions/${a.name}/`)).length).toBe(before);
  });
  it('/health/ready answers 503 naming Postgres', async () => {
    const res = await p.rest('/health/ready');
    expect(res.status).toBe(503);
    expect(await messageOf(res)).toMatch(/Postgres/);
  });
  it('/health/live still answers within 100 ms', async () => {
    expect(await liveWithin(100)).toBe(true);
  });
});

describe('Postgres back', () => {
  it('requests work again without restarting the api', async () => {
    const deadline = Date.now() + 15_000;
    let status = 0;
    while (Date.now() < deadline && status !== 200) {
      status = (await p.rest('/api/v1/datasets', { token: a.token })).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 250));
    }
    expect(status).toBe(200);
    expect(p.restarts).toBe(0);
  });
});

describe('Redis down for a moment', () => {
  it('the api stays alive while Redis restarts, and is ready again after', async () => {
    const down = p.redis.stop();
    await down;
    expect(await liveWithin(100)).toBe(true);
    const notReady = await p.rest('/health/ready');
    expect(notReady.status).toBe(503);
    expect(await messageOf(notReady)).toMatch(/Redis/);
    await p.redis.restart();
    const deadline = Date.now() + 20_000;
    let ready = 0;
    while (Date.now() < deadline && ready !== 200) {
      ready = (await p.rest('/health/ready')).status;
      if (ready !== 200) await new Promise((r) => setTimeout(r, 250));
    }
    expect(ready).toBe(200);
  });
  it("the institutions' queue users survived the restart (ACL file)", async () => {
    const acl = await p.redisAdmin.call('ACL', 'GETUSER', a.queueUsername);
    expect(acl).not.toBeNull();
  });
  it('uploads and GraphQL work after it, and the api was never restarted', async () => {
    expect((await upload(b, 'after-redis.csv', reference(4).csv, 'after-redis')).status).toBe(201);
    expect((await p.gqlOk<{ me: { kind: string } }>('{ me { kind } }', {}, a.token)).me.kind).toBe('member');
    expect(p.restarts).toBe(0);
    expect(p.api.running()).toBe(true);
  });
});
