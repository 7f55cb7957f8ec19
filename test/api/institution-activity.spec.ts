import { randomBytes } from 'node:crypto';
import { Worker } from 'bullmq';
import forge from 'node-forge';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { institutionQueueName } from '@fl/platform';
import { InstitutionIdentity } from '@fl/secure-agg';
import {
  createConsortium,
  REDIS_URL,
  registerInstitution,
  startApi,
  type ApiHarness,
  type RegisteredInstitution,
} from './support/api-harness';

interface InstitutionView {
  name: string;
  certificatePem: string | null;
  certifiedAt: string | null;
  certificateExpiresAt: string | null;
  lastSeenAt: string | null;
  lastBackend: string | null;
  lastRound: {
    federationId: string;
    federationName: string;
    round: number;
    finishedAt: string | null;
  } | null;
  workerOnline: boolean | null;
}

const FIELDS = `name certificatePem certifiedAt certificateExpiresAt lastSeenAt lastBackend
  lastRound { federationId federationName round finishedAt } workerOnline`;
const ONE = `query($id: ID!) { institution(id: $id) { ${FIELDS} } }`;
const ALL = `query($c: ID!) { institutions(consortiumId: $c) { ${FIELDS} } }`;

/** Polls `check` until it holds (a worker's connection name is set a moment after it starts). */
async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('api: institution status fields (certificate expiry, last round, worker online)', () => {
  let api: ApiHarness;
  let x: { id: string; adminToken: string };
  let a: RegisteredInstitution;
  let b: RegisteredInstitution;
  let c: RegisteredInstitution;

  const one = async (inst: RegisteredInstitution, token = x.adminToken) =>
    (await api.gqlOk<{ institution: InstitutionView }>(ONE, { id: inst.id }, token)).institution;

  beforeAll(async () => {
    api = await startApi('institution_activity');
    x = await createConsortium(api, 'Activity X');
    a = await registerInstitution(api, x.id, x.adminToken, 'acta');
    b = await registerInstitution(api, x.id, x.adminToken, 'actb');
    c = await registerInstitution(api, x.id, x.adminToken, 'actc');
  });
  afterAll(() => api?.close());

  it("answers the certificate's notAfter once certified, null before", async () => {
    expect(await one(a)).toMatchObject({ certificatePem: null, certificateExpiresAt: null });
    const certified = await api.gqlOk<{ certifyInstitution: InstitutionView }>(
      `mutation($id: ID!, $csr: String!) { certifyInstitution(institutionId: $id, csrPem: $csr) { ${FIELDS} } }`,
      { id: a.id, csr: InstitutionIdentity.generate(a.name).createCsr() },
      x.adminToken,
    );
    const view = certified.certifyInstitution;
    const notAfter = forge.pki.certificateFromPem(view.certificatePem!).validity.notAfter;
    expect(view.certificateExpiresAt).toBe(notAfter.toISOString());
    expect((await one(a)).certificateExpiresAt).toBe(notAfter.toISOString());
    // INSTITUTION_CERT_DAYS (365) after signing.
    const days = (notAfter.getTime() - Date.parse(view.certifiedAt!)) / 86_400_000;
    expect(days).toBeGreaterThan(364);
    expect(days).toBeLessThan(366);
  });

  it('answers the latest round each institution survived, its backend and federation', async () => {
    const federation = (name: string) =>
      api.db.federation.create({
        data: {
          consortiumId: x.id,
          name,
          status: 'running',
          options: { rounds: 5 },
          seed: 1,
          participants: [],
        },
      });
    const older = await federation('older');
    const newer = await federation('newer');
    const at = (minutes: number) => new Date(Date.UTC(2026, 10, 25, 12, minutes));
    const round = (
      federationId: string,
      number: number,
      finishedAt: Date,
      survivors: string[],
      backends: Record<string, string>,
    ) =>
      api.db.round.create({
        data: {
          federationId,
          number,
          status: 'completed',
          participants: [a.name, b.name],
          survivors,
          dropouts: [a.name, b.name].filter((n) => !survivors.includes(n)),
          losses: Object.fromEntries(survivors.map((n) => [n, 1])),
          timings: {
            totalMs: 10,
            institutions: Object.fromEntries(
              Object.entries(backends).map(([n, backend]) => [n, { backend }]),
            ),
          },
          startedAt: new Date(finishedAt.getTime() - 1000),
          finishedAt,
        },
      });
    await round(older.id, 1, at(0), [a.name, b.name], { [a.name]: 'cpu', [b.name]: 'cpu' });
    await round(older.id, 2, at(10), [a.name, b.name], { [a.name]: 'wasm', [b.name]: 'wasm' });
    // b dropped out of the newest rounds; a survived the newest, in another federation.
    await round(newer.id, 1, at(20), [a.name], { [a.name]: 'tensorflow' });
    await round(older.id, 3, at(15), [a.name], { [a.name]: 'wasm' });

    const data = await api.gqlOk<{ institutions: InstitutionView[] }>(ALL, { c: x.id }, x.adminToken);
    const byName = new Map(data.institutions.map((i) => [i.name, i]));
    expect(byName.get(a.name)).toMatchObject({
      lastSeenAt: at(20).toISOString(),
      lastBackend: 'tensorflow',
      lastRound: {
        federationId: newer.id,
        federationName: 'newer',
        round: 1,
        finishedAt: at(20).toISOString(),
      },
    });
    expect(byName.get(b.name)).toMatchObject({
      lastSeenAt: at(10).toISOString(),
      lastBackend: 'wasm',
      lastRound: {
        federationId: older.id,
        federationName: 'older',
        round: 2,
        finishedAt: at(10).toISOString(),
      },
    });
    expect(byName.get(c.name)).toMatchObject({ lastSeenAt: null, lastBackend: null, lastRound: null });
    // A member reads its own row, with the same fields.
    expect(await one(b, b.token)).toMatchObject({ lastBackend: 'wasm', lastRound: { round: 2 } });
  });

  it("answers whether a worker is connected to the institution's queue now", async () => {
    expect((await one(c)).workerOnline).toBe(false);
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const worker = new Worker(institutionQueueName(c.name), async () => undefined, {
      connection,
      prefix: api.queuePrefix,
    });
    try {
      await worker.waitUntilReady();
      await eventually('workerOnline true', async () => (await one(c)).workerOnline === true);
      // Only c's queue has a worker.
      expect((await one(b)).workerOnline).toBe(false);
    } finally {
      await worker.close();
      connection.disconnect();
    }
    await eventually('workerOnline false', async () => (await one(c)).workerOnline === false);
  });
});

describe('api: workerOnline is null when Redis refuses CLIENT LIST', () => {
  const user = `scp-test-no-client-list-${randomBytes(3).toString('hex')}`;
  const password = randomBytes(16).toString('hex');
  let admin: Redis;
  let api: ApiHarness;

  beforeAll(async () => {
    admin = new Redis(REDIS_URL);
    // Everything the api needs, but not CLIENT LIST (as some managed or locked-down Redis set-ups).
    await admin.call('ACL', 'SETUSER', user, 'on', `>${password}`, '~*', '&*', '+@all', '-client|list');
    const url = new URL(REDIS_URL);
    url.username = user;
    url.password = password;
    api = await startApi('institution_no_client_list', { REDIS_URL: url.toString() });
  });
  afterAll(async () => {
    await api?.close();
    await admin.call('ACL', 'DELUSER', user);
    await admin.quit();
  });

  it('answers null for workerOnline and the other fields as usual', async () => {
    const x = await createConsortium(api, 'No client list');
    // Inserted directly: registering would provision a queue user with this Redis user.
    const row = await api.db.institution.create({
      data: {
        consortiumId: x.id,
        name: `nocl-${api.suffix}`,
        displayName: 'No CLIENT LIST',
        queueUser: 'unused',
      },
    });
    const result = await api.gql<{ institution: InstitutionView }>(ONE, { id: row.id }, x.adminToken);
    expect(result.errors).toBeUndefined();
    expect(result.data?.institution).toMatchObject({ name: row.name, workerOnline: null, lastRound: null });
  });
});
