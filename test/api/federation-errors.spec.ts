import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrismaFederationState } from '../../apps/aggregator/src/prisma-state';
import { createConsortium, startApi, type ApiHarness } from './support/api-harness';

interface FederationView {
  federation: {
    status: string;
    error: string | null;
    rounds: { number: number; status: string; dropouts: string[]; error: string | null }[];
  };
}

const CAUSE = 'clinic-b: the reference has a cell type with a single cell ("NK": 1 cell)';

describe("api: a failed federation shows its round's cause", () => {
  let api: ApiHarness;
  let x: { id: string; adminToken: string };

  beforeAll(async () => {
    api = await startApi('federation_errors');
    x = await createConsortium(api, 'Failing X');
  });
  afterAll(() => api?.close());

  it('answers the error of the federation and of its failed round over GraphQL', async () => {
    const fed = await api.db.federation.create({
      data: {
        consortiumId: x.id,
        name: 'failing',
        status: 'running',
        options: { rounds: 1 },
        seed: 1,
        participants: [],
      },
    });
    // What the aggregator writes when a round fails for good (federation-runner.ts).
    const error = `round 1 failed 3 times: ${CAUSE}; round 1: 1 institution(s) answered, the round needs 2`;
    await new PrismaFederationState(api.db, fed.id).recordRound({
      round: 1,
      status: 'failed',
      participants: ['clinic-a', 'clinic-b'],
      survivors: [],
      dropouts: ['clinic-b'],
      losses: {},
      timings: {},
      bytesIn: 0,
      bytesOut: 0,
      startedAt: new Date(),
      error: `${CAUSE}; round 1: 1 institution(s) answered, the round needs 2`,
    });
    await api.db.federation.update({ where: { id: fed.id }, data: { status: 'failed', error } });

    const view = await api.gqlOk<FederationView>(
      'query($id: ID!) { federation(id: $id) { status error rounds { number status dropouts error } } }',
      { id: fed.id },
      x.adminToken,
    );
    expect(view.federation.status).toBe('failed');
    expect(view.federation.error).toContain(CAUSE);
    expect(view.federation.rounds).toEqual([
      { number: 1, status: 'failed', dropouts: ['clinic-b'], error: expect.stringContaining(CAUSE) },
    ]);
  });
});
