import { Queue } from 'bullmq';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CONTROL_QUEUE, federationEventsChannel, type ControlJob, type FederationEvent } from '@fl/platform';
import { PRESET_NAMES, TRAINING_PRESETS } from '@fl/federation';
import { InstitutionIdentity } from '@fl/secure-agg';
import {
  createConsortium,
  OPERATOR_TOKEN,
  registerInstitution,
  startApi,
  type ApiHarness,
  type RegisteredInstitution,
} from './support/api-harness';

const START = `mutation($input: StartFederationInput!) {
  startFederation(input: $input) { id status seed options participants currentRound }
}`;

interface StartedFederation {
  id: string;
  status: string;
  seed: number;
  options: Record<string, unknown>;
  participants: { institution: string; datasetIds: string[] }[];
}

describe('api: federations', () => {
  let api: ApiHarness;
  let control: Queue<ControlJob>;
  let x: { id: string; adminToken: string };
  let y: { id: string; adminToken: string };
  let a: RegisteredInstitution;
  let b: RegisteredInstitution;
  let c: RegisteredInstitution;
  const datasets: Record<string, string[]> = {};
  let federation: StartedFederation;

  async function siteDataset(inst: RegisteredInstitution, name: string): Promise<string> {
    const res = await api.rest(`/api/v1/institutions/${inst.name}/datasets/site`, {
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

  async function certify(inst: RegisteredInstitution): Promise<void> {
    await api.gqlOk(
      'mutation($id: ID!, $csr: String!) { certifyInstitution(institutionId: $id, csrPem: $csr) { status } }',
      { id: inst.id, csr: InstitutionIdentity.generate(inst.name).createCsr() },
      x.adminToken,
    );
  }

  const start = (input: Record<string, unknown>, token = x.adminToken) =>
    api.gql<{ startFederation: StartedFederation }>(
      START,
      { input: { consortiumId: x.id, name: 'pbmc', ...input } },
      token,
    );

  beforeAll(async () => {
    api = await startApi('federations');
    control = new Queue<ControlJob>(CONTROL_QUEUE, { connection: api.redis, prefix: api.queuePrefix });
    x = await createConsortium(api, 'Federating X');
    y = await createConsortium(api, 'Federating Y');
    a = await registerInstitution(api, x.id, x.adminToken, 'fa');
    b = await registerInstitution(api, x.id, x.adminToken, 'fb');
    c = await registerInstitution(api, x.id, x.adminToken, 'fc');
    datasets.a = [await siteDataset(a, 'a1'), await siteDataset(a, 'a2')];
    datasets.b = [await siteDataset(b, 'b1')];
    await certify(a);
    await certify(b);
  });

  afterAll(async () => {
    await control?.close();
    await api?.close();
  });

  describe('startFederation', () => {
    it.each([
      [{ institutions: [] }, /institutions: name at least one institution/],
      [{ institutions: ['nobody'] }, /"nobody" is not registered in this consortium/],
      [{ institutions: ['A', 'A'] }, /listed twice/],
      [{ rounds: 0 }, /rounds: Number must be greater than or equal to 1/],
      [{ embeddingSize: 600 }, /embeddingSize: must not exceed hiddenSize/],
      [{ secaggBits: 12 }, /secaggBits: must be 8, 16 or 32/],
    ])('should refuse %j', async (input, message) => {
      const names = (input as { institutions?: string[] }).institutions?.map((n) => (n === 'A' ? a.name : n));
      const result = await start({
        institutions: [a.name, b.name],
        ...input,
        ...(names ? { institutions: names } : {}),
      });
      expect(result.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
      expect(result.errors?.[0].message).toMatch(message);
    });

    it('should refuse an uncertified institution under secure aggregation', async () => {
      await siteDataset(c, 'c1');
      const result = await start({ institutions: [a.name, c.name] });
      expect(result.errors?.[0].message).toMatch(new RegExp(`"${c.name}" has no certificate yet`));
    });

    it('should refuse a minority threshold under secure aggregation', async () => {
      const minority = await start({ institutions: [a.name, b.name], threshold: 1 });
      expect(minority.errors?.[0].message).toMatch(/must be a majority of the 2 institutions/);
    });

    it('should refuse an institution without datasets, and datasets of another institution', async () => {
      const empty = await registerInstitution(api, x.id, x.adminToken, 'empty');
      const noData = await start({ institutions: [a.name, empty.name], secureAggregation: false });
      expect(noData.errors?.[0].message).toMatch(/has no reference datasets yet/);
      const foreign = await start({
        institutions: [a.name, b.name],
        datasets: [{ institution: a.name, datasetIds: datasets.b }],
      });
      expect(foreign.errors?.[0].message).toMatch(new RegExp(`"${a.name}" has no dataset ${datasets.b[0]}`));
    });

    it('should let only an admin of the consortium start a federation', async () => {
      expect((await start({ institutions: [a.name, b.name] }, a.token)).errors?.[0].extensions?.code).toBe(
        'FORBIDDEN',
      );
      expect(
        (await start({ institutions: [a.name, b.name] }, y.adminToken)).errors?.[0].extensions?.code,
      ).toBe('NOT_FOUND');
      expect(await api.db.federation.count()).toBe(0);
    });

    it('should record a pending federation and ask the aggregator to start it', async () => {
      const result = await start({
        institutions: [b.name, a.name],
        datasets: [{ institution: a.name, datasetIds: [datasets.a[1]] }],
        rounds: 5,
        seed: 7,
      });
      expect(result.errors).toBeUndefined();
      federation = result.data!.startFederation;
      expect(federation).toMatchObject({
        status: 'pending',
        seed: 7,
        participants: [
          { institution: b.name, datasetIds: datasets.b },
          { institution: a.name, datasetIds: [datasets.a[1]] },
        ],
        options: {
          rounds: 5,
          localSteps: 1,
          learningRate: 0.0005,
          hiddenSize: 500,
          embeddingSize: 20,
          weighting: 'uniform',
          secureAggregation: true,
          threshold: 2,
          secaggBits: 16,
          roundDeadlineSeconds: 600,
          allowSingletonTypes: false,
        },
      });
      const job = await control.getJob(`start-${federation.id}`);
      expect(job?.data).toEqual({ action: 'start', federationId: federation.id });
      const audit = await api.db.auditLog.findFirst({ where: { target: `federation:${federation.id}` } });
      expect(audit?.action).toBe('federation.start');
    });

    it('should start one institution without secure aggregation (nor a certificate) and record why', async () => {
      const solo = await registerInstitution(api, x.id, x.adminToken, 'solo');
      const soloData = await siteDataset(solo, 'solo1');
      const result = await start({ institutions: [solo.name] }); // secureAggregation: true by default
      expect(result.errors).toBeUndefined();
      const started = result.data!.startFederation;
      expect(started.participants).toEqual([{ institution: solo.name, datasetIds: [soloData] }]);
      expect(started.options).toMatchObject({
        secureAggregation: false,
        secureAggregationSkipped: {
          reason: 'single-institution',
          message: expect.stringMatching(/^One institution: secure aggregation is not needed/),
        },
        threshold: 1,
      });
      const job = await control.getJob(`start-${started.id}`);
      expect(job?.data).toEqual({ action: 'start', federationId: started.id });
      // Asked off, nothing is skipped.
      const off = await start({ institutions: [solo.name], secureAggregation: false });
      expect(off.data!.startFederation.options).not.toHaveProperty('secureAggregationSkipped');
    });
  });

  describe('training presets', () => {
    const PRESETS = `{ trainingPresets {
      name description rounds localSteps learningRate ensembleSize variableGenes variableGenesPerCell detectedValuesPerGene inputDropout inputDropoutMinDetection availableOnPlatform
    } }`;

    it('should list the command line presets to admins and members, not to the operator', async () => {
      const expected = PRESET_NAMES.map((name) => ({
        name,
        description: TRAINING_PRESETS[name].summary,
        rounds: TRAINING_PRESETS[name].rounds,
        localSteps: TRAINING_PRESETS[name].localSteps,
        learningRate: TRAINING_PRESETS[name].learningRate,
        ensembleSize: TRAINING_PRESETS[name].ensembleSize,
        variableGenes: TRAINING_PRESETS[name].variableGenes,
        variableGenesPerCell: TRAINING_PRESETS[name].variableGenesPerCell,
        detectedValuesPerGene: TRAINING_PRESETS[name].detectedValuesPerGene,
        inputDropout: TRAINING_PRESETS[name].inputDropout,
        inputDropoutMinDetection: TRAINING_PRESETS[name].inputDropoutMinDetection,
        // The aggregator trains every preset (an ensemble's models side by side).
        availableOnPlatform: true,
      }));
      for (const token of [x.adminToken, a.token]) {
        const data = await api.gqlOk<{ trainingPresets: unknown[] }>(PRESETS, {}, token);
        expect(data.trainingPresets).toEqual(expected);
      }
      const codeOf = async (token?: string) =>
        (await api.gql(PRESETS, {}, token)).errors?.[0].extensions?.code;
      expect(await codeOf(OPERATOR_TOKEN)).toBe('FORBIDDEN');
      expect(await codeOf(undefined)).toBe('UNAUTHENTICATED');
    });

    it('should take the left-out rounds, localSteps and learningRate from the preset and record it', async () => {
      const result = await start({
        institutions: [a.name, b.name],
        preset: 'published',
        rounds: 4,
        learningRate: 0.001,
      });
      expect(result.errors).toBeUndefined();
      const started = result.data!.startFederation;
      expect(started.options).toMatchObject({
        preset: 'published',
        rounds: 4,
        localSteps: TRAINING_PRESETS.published.localSteps,
        learningRate: 0.001,
      });
      const row = await api.db.federation.findUniqueOrThrow({ where: { id: started.id } });
      expect(row.options).toMatchObject({ preset: 'published', rounds: 4 });
      // All three left out: the preset's, and the checks (checkpointEvery) see its rounds.
      const whole = await start({
        institutions: [a.name, b.name],
        preset: 'published',
        checkpointEvery: 300,
      });
      expect(whole.errors).toBeUndefined();
      expect(whole.data!.startFederation.options).toMatchObject({
        rounds: TRAINING_PRESETS.published.rounds,
        localSteps: TRAINING_PRESETS.published.localSteps,
        learningRate: TRAINING_PRESETS.published.learningRate,
        checkpointEvery: 300,
      });
    });

    it('should refuse an unknown preset naming the known ones, and a bad gene count or ensemble size', async () => {
      const before = await api.db.federation.count();
      const unknown = await start({ institutions: [a.name, b.name], preset: 'fastest' });
      expect(unknown.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
      expect(unknown.errors?.[0].message).toBe(
        `Invalid federation: preset: unknown preset "fastest" (expected one of ${PRESET_NAMES.join(', ')})`,
      );
      const huge = await start({ institutions: [a.name, b.name], preset: 'ensemble', ensembleSize: 17 });
      expect(huge.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
      expect(huge.errors?.[0].message).toBe(
        'Invalid federation: ensembleSize: must be a whole number from 1 to 16',
      );
      const tooFew = await start({
        institutions: [a.name, b.name],
        preset: 'variable-genes',
        variableGenes: 20,
      });
      expect(tooFew.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
      expect(tooFew.errors?.[0].message).toBe(
        'Invalid federation: variableGenes: must be 0 (every gene) or a whole number of at least 50 genes',
      );
      const dropout = await start({ institutions: [a.name, b.name], inputDropout: 0.95 });
      expect(dropout.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
      expect(dropout.errors?.[0].message).toBe(
        'Invalid federation: inputDropout: must be a number from 0 (none) to 0.9',
      );
      expect(await api.db.federation.count()).toBe(before);
    });

    it("should take variable-genes' gene count, record it, and let the caller change it", async () => {
      const preset = await start({ institutions: [a.name, b.name], preset: 'variable-genes', rounds: 3 });
      expect(preset.errors).toBeUndefined();
      expect(preset.data!.startFederation.options).toMatchObject({
        preset: 'variable-genes',
        variableGenes: TRAINING_PRESETS['variable-genes'].variableGenes,
        rounds: 3,
      });
      const row = await api.db.federation.findUniqueOrThrow({
        where: { id: preset.data!.startFederation.id },
      });
      expect(row.options).toMatchObject({ variableGenes: 2000 });
      const own = await start({ institutions: [a.name, b.name], variableGenes: 500, rounds: 3 });
      expect(own.data!.startFederation.options).toMatchObject({ variableGenes: 500 });
      const off = await start({ institutions: [a.name, b.name], preset: 'variable-genes', variableGenes: 0 });
      expect(off.data!.startFederation.options).not.toHaveProperty('variableGenes');
    });

    it('should record the caps of variable genes (per cell, per detected values) with variable genes, refuse a bad one naming the field, and record none without', async () => {
      const capped = await start({
        institutions: [a.name, b.name],
        preset: 'variable-genes',
        variableGenesPerCell: 10,
        detectedValuesPerGene: 40,
      });
      expect(capped.errors).toBeUndefined();
      expect(capped.data!.startFederation.options).toMatchObject({
        variableGenes: 2000,
        variableGenesPerCell: 10,
        detectedValuesPerGene: 40,
      });
      const badDetected = await start({
        institutions: [a.name, b.name],
        preset: 'variable-genes',
        detectedValuesPerGene: 2_000_000,
      });
      expect(badDetected.errors?.[0].message).toBe(
        'Invalid federation: detectedValuesPerGene: must be 0 (no cap) or a whole number from 1 to 1000000',
      );
      const bad = await start({
        institutions: [a.name, b.name],
        preset: 'variable-genes',
        variableGenesPerCell: 20_000,
      });
      expect(bad.errors?.[0].message).toBe(
        'Invalid federation: variableGenesPerCell: must be 0 (no cap) or a whole number from 1 to 10000',
      );
      // Every gene: no cap to apply, so none is recorded.
      const all = await start({
        institutions: [a.name, b.name],
        rounds: 3,
        variableGenesPerCell: 10,
        detectedValuesPerGene: 40,
      });
      expect(all.data!.startFederation.options).not.toHaveProperty('variableGenesPerCell');
      expect(all.data!.startFederation.options).not.toHaveProperty('detectedValuesPerGene');
    });

    it("should take an ensemble preset's models, record them, and let the caller change their number", async () => {
      const preset = await start({ institutions: [a.name, b.name], preset: 'variable-genes-ensemble' });
      expect(preset.errors).toBeUndefined();
      expect(preset.data!.startFederation.options).toMatchObject({
        preset: 'variable-genes-ensemble',
        ensembleSize: 3,
        variableGenes: 2000,
        rounds: 200,
      });
      const own = await start({ institutions: [a.name, b.name], preset: 'ensemble', ensembleSize: 5 });
      expect(own.data!.startFederation.options).toMatchObject({ ensembleSize: 5, rounds: 200 });
      // One model: nothing recorded, as for a federation that names no preset.
      const single = await start({ institutions: [a.name, b.name], preset: 'ensemble', ensembleSize: 1 });
      expect(single.data!.startFederation.options).not.toHaveProperty('ensembleSize');
    });

    it("should take the dropout preset's rate and detection bound, and record both", async () => {
      const preset = await start({
        institutions: [a.name, b.name],
        preset: 'variable-genes-ensemble-dropout',
      });
      expect(preset.errors).toBeUndefined();
      expect(preset.data!.startFederation.options).toMatchObject({
        inputDropout: 0.2,
        inputDropoutMinDetection: 0.2,
        ensembleSize: 3,
      });
      const bad = await start({
        institutions: [a.name, b.name],
        inputDropout: 0.2,
        inputDropoutMinDetection: 2,
      });
      expect(bad.errors?.[0].message).toBe(
        'Invalid federation: inputDropoutMinDetection: must be a fraction from 0 (every institution) to 1',
      );
      // A bound without a rate records nothing.
      const alone = await start({ institutions: [a.name, b.name], rounds: 3, inputDropoutMinDetection: 0.5 });
      expect(alone.data!.startFederation.options).not.toHaveProperty('inputDropoutMinDetection');
    });

    it('should record a gene dropout asked for, and none when 0 or left out', async () => {
      const own = await start({ institutions: [a.name, b.name], inputDropout: 0.2, rounds: 3 });
      expect(own.errors).toBeUndefined();
      expect(own.data!.startFederation.options).toMatchObject({ inputDropout: 0.2 });
      const row = await api.db.federation.findUniqueOrThrow({ where: { id: own.data!.startFederation.id } });
      expect(row.options).toMatchObject({ inputDropout: 0.2 });
      for (const inputDropout of [0, undefined]) {
        const none = await start({ institutions: [a.name, b.name], rounds: 3, inputDropout });
        expect(none.data!.startFederation.options).not.toHaveProperty('inputDropout');
      }
    });

    it('should not record a preset that was not named', async () => {
      const result = await start({ institutions: [a.name, b.name], rounds: 2 });
      expect(result.data!.startFederation.options).not.toHaveProperty('preset');
      expect(result.data!.startFederation.options).toMatchObject({
        rounds: 2,
        localSteps: 1,
        learningRate: 0.0005,
      });
    });
  });

  describe('cancelFederation and resumeFederation', () => {
    const cancel = (id: string, token: string) =>
      api.gql('mutation($id: ID!) { cancelFederation(id: $id) { id status } }', { id }, token);

    it('should enqueue a cancel request for an admin', async () => {
      expect((await cancel(federation.id, x.adminToken)).errors).toBeUndefined();
      const jobs = await control.getJobs(['waiting']);
      expect(jobs.map((j) => j.data)).toContainEqual({ action: 'cancel', federationId: federation.id });
    });

    it('should refuse members and other consortia', async () => {
      expect((await cancel(federation.id, a.token)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
      expect((await cancel(federation.id, y.adminToken)).errors?.[0].extensions?.code).toBe('NOT_FOUND');
      const resume = await api.gql(
        'mutation($id: ID!) { resumeFederation(id: $id) { id } }',
        { id: federation.id },
        y.adminToken,
      );
      expect(resume.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    });

    it('should refuse to resume a completed federation', async () => {
      await api.db.federation.update({ where: { id: federation.id }, data: { status: 'completed' } });
      const resume = await api.gql(
        'mutation($id: ID!) { resumeFederation(id: $id) { id } }',
        { id: federation.id },
        x.adminToken,
      );
      expect(resume.errors?.[0].extensions?.code).toBe('CONFLICT');
      await api.db.federation.update({ where: { id: federation.id }, data: { status: 'running' } });
    });
  });

  describe('reading federations', () => {
    const QUERY = `query($id: ID!) { federation(id: $id) {
      name status rounds { number status participants losses bytesIn } modelVersions { id round } landmarkSets { institution }
    } }`;

    beforeAll(async () => {
      // What the aggregator writes as rounds complete.
      await api.db.round.create({
        data: {
          federationId: federation.id,
          number: 1,
          status: 'completed',
          participants: [b.name, a.name],
          survivors: [b.name, a.name],
          losses: { [a.name]: 0.5, [b.name]: 0.7 },
          bytesIn: 1234n,
        },
      });
    });

    it('should show a member of the consortium its federations, rounds included', async () => {
      const data = await api.gqlOk<{
        federation: { rounds: { number: number; bytesIn: number; losses: unknown }[] };
      }>(QUERY, { id: federation.id }, a.token);
      // Its own loss only (test/api/round-visibility.spec.ts has the rest).
      expect(data.federation.rounds).toEqual([
        expect.objectContaining({ number: 1, bytesIn: 1234, losses: { [a.name]: 0.5 } }),
      ]);
      const rounds = await api.gqlOk<{ rounds: { number: number }[] }>(
        'query($id: ID!) { rounds(federationId: $id, limit: 10) { number } }',
        { id: federation.id },
        b.token,
      );
      expect(rounds.rounds).toEqual([{ number: 1 }]);
    });

    it("should hide a federation from another consortium's admin and members", async () => {
      expect((await api.gql(QUERY, { id: federation.id }, y.adminToken)).errors?.[0].extensions?.code).toBe(
        'NOT_FOUND',
      );
      const rounds = await api.gql(
        'query($id: ID!) { rounds(federationId: $id) { number } }',
        { id: federation.id },
        y.adminToken,
      );
      expect(rounds.errors?.[0].extensions?.code).toBe('NOT_FOUND');
      const list = await api.gqlOk<{ federations: unknown[] }>('{ federations { id } }', {}, y.adminToken);
      expect(list.federations).toEqual([]);
      const models = await api.gql(
        'query($id: ID!) { modelVersions(federationId: $id) { id } }',
        { id: federation.id },
        y.adminToken,
      );
      expect(models.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    });
  });

  describe('federationProgress subscription', () => {
    const clients: Client[] = [];
    const connect = (token?: string) => {
      const client = createClient({
        url: `${api.url.replace('http', 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: token ? { authorization: `Bearer ${token}` } : {},
        retryAttempts: 0,
      });
      clients.push(client);
      return client;
    };
    afterAll(async () => {
      for (const client of clients) await client.dispose();
    });

    function subscribe(client: Client, id: string) {
      return client.iterate<{ federationProgress: Partial<FederationEvent> }>({
        query:
          'subscription($id: ID!) { federationProgress(federationId: $id) { federationId kind status round rounds meanLoss } }',
        variables: { id },
      });
    }

    it('should relay the aggregator events to a member of the consortium', async () => {
      const events = subscribe(connect(a.token), federation.id);
      const first = events.next();
      const event: FederationEvent = {
        federationId: federation.id,
        kind: 'round',
        status: 'running',
        round: 2,
        rounds: 5,
        meanLoss: 0.42,
        at: new Date().toISOString(),
      };
      // The subscription is set up asynchronously: publish until it is heard.
      let received:
        IteratorResult<{ data?: { federationProgress: Partial<FederationEvent> } | null }> | undefined;
      const timer = setInterval(
        () => void api.redis.publish(federationEventsChannel(federation.id), JSON.stringify(event)),
        100,
      );
      try {
        received = await first;
      } finally {
        clearInterval(timer);
      }
      expect(received?.value?.data?.federationProgress).toEqual({
        federationId: federation.id,
        kind: 'round',
        status: 'running',
        round: 2,
        rounds: 5,
        meanLoss: 0.42,
      });
      await events.return?.();
    });

    it('should refuse a subscriber without a valid token or from another consortium', async () => {
      const codeOf = async (token?: string) => {
        const first = await subscribe(connect(token), federation.id).next();
        const result = first.value as { errors?: { extensions?: { code?: string } }[] };
        return result.errors?.[0].extensions?.code;
      };
      expect(await codeOf()).toBe('UNAUTHENTICATED');
      expect(await codeOf('scp_wrong')).toBe('UNAUTHENTICATED');
      expect(await codeOf(y.adminToken)).toBe('NOT_FOUND');
    });
  });
});
