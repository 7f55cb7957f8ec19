import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createConsortium,
  OPERATOR_TOKEN,
  registerInstitution,
  startApi,
  type ApiHarness,
  type RegisteredInstitution,
} from './support/api-harness';

interface RoundView {
  number: number;
  losses: Record<string, number>;
  meanLoss: number | null;
  timings: Record<string, unknown> & { institutions?: Record<string, unknown> };
}

interface FederationView {
  federation: {
    rounds: RoundView[];
    landmarkSets: { institution: string; types: string[]; cellCounts: number[] }[];
  };
  rounds: RoundView[];
  landmarkSets: { institution: string }[];
  modelVersion: { landmarkSets: { institution: string }[] };
}

const VIEW = `query($id: ID!, $version: ID!) {
  federation(id: $id) { rounds { number losses meanLoss timings } landmarkSets { institution types cellCounts } }
  rounds(federationId: $id) { number losses meanLoss timings }
  landmarkSets(modelVersionId: $version) { institution }
  modelVersion(id: $version) { landmarkSets { institution } }
}`;

const SETTINGS = `mutation($c: ID!, $on: Boolean!) {
  updateConsortiumSettings(consortiumId: $c, membersSeeInstitutionRounds: $on) { id membersSeeInstitutionRounds }
}`;

describe("api: a member sees only its own institution's round values unless the consortium allows more", () => {
  let api: ApiHarness;
  let x: { id: string; adminToken: string };
  let y: { id: string; adminToken: string };
  let a: RegisteredInstitution;
  let b: RegisteredInstitution;
  let federationId: string;
  let versionId: string;

  const view = (token: string) =>
    api.gqlOk<FederationView>(VIEW, { id: federationId, version: versionId }, token);
  const setting = (token: string, on: boolean, c = x.id) => api.gql(SETTINGS, { c, on }, token);

  beforeAll(async () => {
    api = await startApi('round_visibility');
    x = await createConsortium(api, 'Visibility X');
    y = await createConsortium(api, 'Visibility Y');
    a = await registerInstitution(api, x.id, x.adminToken, 'va');
    b = await registerInstitution(api, x.id, x.adminToken, 'vb');
    // What the aggregator writes: a federation, its rounds, its final model and landmark sets.
    const federation = await api.db.federation.create({
      data: {
        consortiumId: x.id,
        name: 'visibility',
        status: 'completed',
        options: { rounds: 2 },
        seed: 1,
        participants: [
          { institution: a.name, datasetIds: [] },
          { institution: b.name, datasetIds: [] },
        ],
        currentRound: 2,
      },
    });
    federationId = federation.id;
    const timings = (aMs: number, bMs: number) => ({
      waitMs: 10,
      aggregateMs: 4,
      totalMs: 20,
      institutions: {
        [a.name]: { trainMs: aMs, backend: 'wasm' },
        [b.name]: { trainMs: bMs, backend: 'cpu' },
      },
    });
    for (const [number, la, lb] of [
      [1, 1, 2],
      [2, 0.5, 1.5],
    ]) {
      await api.db.round.create({
        data: {
          federationId,
          number,
          status: 'completed',
          participants: [a.name, b.name],
          survivors: [a.name, b.name],
          losses: { [a.name]: la, [b.name]: lb },
          timings: timings(la * 100, lb * 100),
          finishedAt: new Date(),
        },
      });
    }
    const version = await api.db.modelVersion.create({
      data: {
        federationId,
        round: 2,
        objectKey: 'models/x/weights.bin',
        sha256: 'a'.repeat(64),
        sizeBytes: 8n,
        backend: 'wasm',
        manifest: { institutions: [{ name: a.name }, { name: b.name }] },
      },
    });
    versionId = version.id;
    for (const [inst, types, counts] of [
      [b.name, ['B', 'NK'], [5, 2]],
      [a.name, ['T'], [9]],
    ] as const) {
      await api.db.landmarkSet.create({
        data: {
          federationId,
          modelVersionId: versionId,
          institution: inst,
          objectKey: `models/x/landmarks-${inst}.json`,
          sha256: 'b'.repeat(64),
          types: [...types],
          cellCounts: [...counts],
        },
      });
    }
  });
  afterAll(() => api?.close());

  it('shows an admin every institution, with the mean loss', async () => {
    const data = await view(x.adminToken);
    expect(data.rounds).toEqual(data.federation.rounds);
    expect(data.rounds.map((r) => [r.number, r.losses, r.meanLoss])).toEqual([
      [1, { [a.name]: 1, [b.name]: 2 }, 1.5],
      [2, { [a.name]: 0.5, [b.name]: 1.5 }, 1],
    ]);
    expect(Object.keys(data.rounds[0].timings.institutions!).sort()).toEqual([a.name, b.name].sort());
    expect(data.federation.landmarkSets.map((s) => s.institution).sort()).toEqual([a.name, b.name].sort());
    expect(data.landmarkSets.map((s) => s.institution)).toEqual([a.name, b.name]);
    expect(data.modelVersion.landmarkSets.map((s) => s.institution)).toEqual([a.name, b.name]);
  });

  it("shows a member its own institution's values, the mean loss and the round-level timings", async () => {
    const data = await view(a.token);
    expect(data.rounds).toEqual(data.federation.rounds);
    expect(data.rounds).toEqual([
      {
        number: 1,
        losses: { [a.name]: 1 },
        meanLoss: 1.5,
        timings: {
          waitMs: 10,
          aggregateMs: 4,
          totalMs: 20,
          institutions: { [a.name]: { trainMs: 100, backend: 'wasm' } },
        },
      },
      {
        number: 2,
        losses: { [a.name]: 0.5 },
        meanLoss: 1,
        timings: {
          waitMs: 10,
          aggregateMs: 4,
          totalMs: 20,
          institutions: { [a.name]: { trainMs: 50, backend: 'wasm' } },
        },
      },
    ]);
    expect(data.federation.landmarkSets).toEqual([{ institution: a.name, types: ['T'], cellCounts: [9] }]);
    expect(data.landmarkSets).toEqual([{ institution: a.name }]);
    expect(data.modelVersion.landmarkSets).toEqual([{ institution: a.name }]);
    const other = await view(b.token);
    expect(other.rounds.map((r) => r.losses)).toEqual([{ [b.name]: 2 }, { [b.name]: 1.5 }]);
    expect(other.landmarkSets).toEqual([{ institution: b.name }]);
  });

  it('lets only an admin of the consortium change the setting', async () => {
    const byMember = await setting(a.token, true);
    expect(byMember.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect(byMember.errors?.[0].message).toBe(
      "Only a consortium administrator may change the consortium's settings.",
    );
    expect((await setting(y.adminToken, true)).errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect((await setting(x.adminToken, true, 'not-a-uuid')).errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect((await setting(OPERATOR_TOKEN, true)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const row = await api.db.consortium.findUniqueOrThrow({ where: { id: x.id } });
    expect(row.membersSeeInstitutionRounds).toBe(false);
    expect(await api.db.auditLog.count({ where: { action: 'consortium.settings' } })).toBe(0);
  });

  it('shows members every institution once an admin turns the setting on, and audits it', async () => {
    const read = '{ consortia { membersSeeInstitutionRounds } }';
    expect(await api.gqlOk(read, {}, a.token)).toEqual({
      consortia: [{ membersSeeInstitutionRounds: false }],
    });
    const result = await setting(x.adminToken, true);
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({
      updateConsortiumSettings: { id: x.id, membersSeeInstitutionRounds: true },
    });
    expect(await api.gqlOk(read, {}, a.token)).toEqual({
      consortia: [{ membersSeeInstitutionRounds: true }],
    });
    const audit = await api.db.auditLog.findFirstOrThrow({ where: { action: 'consortium.settings' } });
    expect(audit).toMatchObject({
      consortiumId: x.id,
      target: `consortium:${x.id}`,
      detail: { membersSeeInstitutionRounds: true },
    });
    expect(audit.actor).toMatch(/^admin:/);

    const open = await view(a.token);
    expect(open).toEqual(await view(x.adminToken));
    expect(open.rounds[1].losses).toEqual({ [a.name]: 0.5, [b.name]: 1.5 });
    expect(open.landmarkSets.map((s) => s.institution)).toEqual([a.name, b.name]);

    // The other consortium is untouched; turning it off hides the others again.
    const other = await api.db.consortium.findUniqueOrThrow({ where: { id: y.id } });
    expect(other.membersSeeInstitutionRounds).toBe(false);
    await setting(x.adminToken, false);
    expect((await view(a.token)).rounds[1].losses).toEqual({ [a.name]: 0.5 });
  });
});
