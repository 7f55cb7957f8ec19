import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsortium, REDIS_URL, startApi, type ApiHarness } from './support/api-harness';

interface Registered {
  registerInstitution: { institution: { id: string }; queueUsername: string; queuePassword: string };
}

const REGISTER = `mutation($c: ID!, $n: String!) {
  registerInstitution(consortiumId: $c, name: $n, displayName: "Racing hospital") {
    institution { id } queueUsername queuePassword
  }
}`;

/** AUTH as a queue user: 'OK' while its password works (and the user exists). */
async function authAs(username: string, password: string): Promise<unknown> {
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 0 });
  try {
    return await client.call('AUTH', username, password);
  } finally {
    client.disconnect();
  }
}

describe('api: institution names are unique on the whole platform', () => {
  let api: ApiHarness;
  let x: { id: string; adminToken: string };
  let y: { id: string; adminToken: string };

  beforeAll(async () => {
    api = await startApi('institutions');
    x = await createConsortium(api, 'Race X');
    y = await createConsortium(api, 'Race Y');
  });
  afterAll(() => api?.close());

  it('lets exactly one of 10 concurrent registrations of one name from two consortia win', async () => {
    const name = `racer-${api.suffix}`;
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => {
        const c = i % 2 === 0 ? x : y;
        return api.gql<Registered>(REGISTER, { c: c.id, n: name }, c.adminToken);
      }),
    );
    const winners = results.filter((r) => r.data?.registerInstitution);
    const losers = results.filter((r) => r.errors?.length);
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(9);
    for (const l of losers) {
      expect(l.errors?.[0].extensions?.code).toBe('CONFLICT');
      expect(l.errors?.[0].message).toMatch(/already taken/);
    }
    expect(await api.db.institution.count({ where: { name } })).toBe(1);
    // The losers never touched the winner's Redis user: its password still works.
    const won = winners[0].data!.registerInstitution;
    expect(await authAs(won.queueUsername, won.queuePassword)).toBe('OK');
  });

  it("revokes only the revoked institution's queue user", async () => {
    const register = async (c: { id: string; adminToken: string }, n: string) =>
      (await api.gqlOk<Registered>(REGISTER, { c: c.id, n: `${n}-${api.suffix}` }, c.adminToken))
        .registerInstitution;
    const kept = await register(x, 'kept');
    const gone = await register(y, 'gone');
    await api.gqlOk(
      'mutation($id: ID!) { revokeInstitution(institutionId: $id) { status } }',
      { id: gone.institution.id },
      y.adminToken,
    );
    await expect(authAs(gone.queueUsername, gone.queuePassword)).rejects.toThrow(/WRONGPASS/);
    expect(await authAs(kept.queueUsername, kept.queuePassword)).toBe('OK');
  });
});
