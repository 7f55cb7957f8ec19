import { describe, expect, it } from 'vitest';
import { SINGLE_INSTITUTION_SKIP } from '@fl/federation';
import type { FederationOptions } from './federation-driver';
import { MemoryFederation } from './testing/in-memory-federation';
import { embeddedFederation, PBMC_MINI_REFERENCES } from './testing/pbmc-mini';

const references = PBMC_MINI_REFERENCES;

const base: FederationOptions = {
  rounds: 4,
  localSteps: 1,
  learningRate: 0.0005,
  seed: 7,
  hiddenSize: 32,
  embeddingSize: 8,
  weighting: 'uniform',
  secureAggregation: false,
  roundDeadlineSeconds: 30,
};

const embedded = embeddedFederation;

describe('FederationDriver (in-memory transport)', () => {
  it('gives the embedded federation model bit for bit, secure aggregation off', async () => {
    const fed = await MemoryFederation.create({ references, options: base });
    const end = await fed.driver().run();
    expect(end.phase).toBe('done');
    const reference = await embedded(base);
    expect(Buffer.from((await fed.finalWeights()).buffer)).toEqual(
      Buffer.from(reference.model.params.buffer),
    );
    // Retention (4 rounds: every round is a checkpoint) lets only the initial model go.
    expect([...fed.state.versions.keys()]).toEqual([1, 2, 3, 4]);
    expect(fed.state.rounds.map((r) => r.status)).toEqual([
      'completed',
      'completed',
      'completed',
      'completed',
    ]);
    expect(fed.state.landmarks.map((l) => l.institution)).toEqual(references.map((r) => r.institution));
  });

  it('gives the embedded secure federation model bit for bit, and the aggregator sees only masked updates', async () => {
    const options = { ...base, secureAggregation: true };
    const fed = await MemoryFederation.create({ references, options });
    await fed.driver().run();
    const reference = await embedded(options);
    const weights = await fed.finalWeights();
    expect(Buffer.from(weights.buffer)).toEqual(Buffer.from(reference.model.params.buffer));
    // An update object is a masked vector: nothing like the institution's plain parameters.
    const update = fed.store.objects.get('federations/fed-test/rounds/00001/pbmc3k-10x-v1.bin')!;
    const words = new Uint32Array(
      update.buffer.slice(update.byteOffset, update.byteOffset + update.byteLength),
    );
    const plainLike = Array.from(words.subarray(0, 1000)).filter(
      (w) => Math.abs(new Float32Array(new Uint32Array([w]).buffer)[0]) < 1,
    );
    expect(plainLike.length).toBeLessThan(600); // plain float32 parameters would all be < 1 in magnitude
  });

  it('broadcasts compact aggregates between checkpoints, and a restarted aggregator and worker rebuild the model from the chain', async () => {
    const options = { ...base, rounds: 5, checkpointEvery: 2, secureAggregation: true };
    const fed = await MemoryFederation.create({ references, options });
    fed.intercept = (institution, name, data) => {
      // Before round 4, one worker forgets the global model it held (its keys and optimiser state
      // stay): it must read round 2's full model and apply round 3's aggregate; the others apply
      // only round 3's aggregate to the model they hold.
      if (institution === 'pbmc3k-10x-v1' && name === 'train' && (data as { round: number }).round === 4) {
        const runtime = fed.runtimes.get(institution) as unknown as {
          federations: Map<string, { global?: unknown }>;
        };
        runtime.federations.get('fed-test')!.global = undefined;
      }
      return undefined;
    };
    let stops = 0;
    const first = await fed.driver(() => ++stops > 6).run(); // stops mid-federation
    expect(first.phase).not.toBe('done');
    const end = await fed.driver().run(); // a new aggregator: the global model is rebuilt from the chain
    expect(end.phase).toBe('done');
    const reference = await embedded(options);
    expect(Buffer.from((await fed.finalWeights()).buffer)).toEqual(
      Buffer.from(reference.model.params.buffer),
    );
    // Full models: the checkpoints 2 and 4 and the last round (round 0's was pruned by retention
    // once round 2 was stored); an aggregate every round.
    const keys = [...fed.store.objects.keys()];
    const fullModels = keys.filter((k) => k.endsWith('/weights.bin')).sort();
    expect(fullModels.map((k) => Number(/round-(\d+)/.exec(k)![1]))).toEqual([2, 4, 5]);
    const aggregates = keys.filter((k) => k.endsWith('/aggregate.bin')).sort();
    expect(aggregates).toHaveLength(5);
    // 16-bit lanes: 2 bytes per parameter, half a float32 model.
    const model = fed.store.objects.get(fullModels[0])!;
    expect(fed.store.objects.get(aggregates[0])!.byteLength).toBe(model.byteLength / 2);
    const timings = (round: number) =>
      fed.state.rounds.find((r) => r.round === round)!.timings.institutions as Record<
        string,
        { modelBytesIn: number }
      >;
    // Round 3: round 2 is a checkpoint; every worker holds round 1's model and applies round 2's aggregate.
    expect(Object.values(timings(3)).map((t) => t.modelBytesIn)).toEqual(
      [1, 1, 1].map(() => model.byteLength / 2),
    );
    // Round 4: two apply round 3's aggregate; the one that forgot reads round 2's model too.
    expect(timings(4)['pbmc3k-10x-v1'].modelBytesIn).toBe(model.byteLength * 1.5);
    expect(timings(4)['pbmc-10x-3p-v2'].modelBytesIn).toBe(model.byteLength / 2);
    const round3 = fed.state.rounds.find((r) => r.round === 3)!;
    expect(round3.bytesOut).toBe((model.byteLength / 2) * 3);
  });

  it('resumes after a stop between rounds and ends with the same model', async () => {
    const fed = await MemoryFederation.create({ references, options: base });
    let steps = 0;
    const first = await fed.driver(() => ++steps > 3).run();
    expect(first.phase).toBe('rounds');
    expect(first.round).toBeLessThan(base.rounds);
    const end = await fed.driver().run(); // a new driver, as a restarted aggregator
    expect(end.phase).toBe('done');
    const reference = await embedded(base);
    expect(Buffer.from((await fed.finalWeights()).buffer)).toEqual(
      Buffer.from(reference.model.params.buffer),
    );
  });

  it('completes a secure round without a worker that dies mid-round, then takes it back after a re-key', async () => {
    const options = { ...base, secureAggregation: true };
    const fed = await MemoryFederation.create({ references, options });
    let killed = false;
    fed.intercept = (institution, name, data) => {
      const round = (data as { round?: number }).round;
      if (!killed && institution === 'pbmc-10x-5p-vdj' && name === 'train' && round === 2) {
        killed = true;
        fed.restartWorker(institution); // its keys and optimiser state are gone
        return { ok: false, reason: 'worker killed', timedOut: true, stateLost: false };
      }
      return undefined;
    };
    const end = await fed.driver().run();
    expect(end.phase).toBe('done');
    const round2 = fed.state.rounds.find((r) => r.round === 2)!;
    expect(round2.status).toBe('completed');
    expect(round2.dropouts).toEqual(['pbmc-10x-5p-vdj']);
    expect(round2.survivors).toHaveLength(2);
    const round3 = fed.state.rounds.find((r) => r.round === 3)!;
    expect(round3.survivors).toHaveLength(3); // back after the fresh key set-up
    expect(end.secagg!.epoch).toBe(1);
  });

  it('fails a secure round cleanly below the threshold, keeps the previous model and retries it', async () => {
    const options = { ...base, rounds: 2, secureAggregation: true };
    const fed = await MemoryFederation.create({ references, options });
    let failures = 0;
    fed.intercept = (institution, name, data) => {
      if (
        name === 'train' &&
        (data as { round: number }).round === 2 &&
        failures < 2 &&
        institution !== 'pbmc3k-10x-v1'
      ) {
        failures++;
        return { ok: false, reason: 'offline', timedOut: true, stateLost: false };
      }
      return undefined;
    };
    const end = await fed.driver().run();
    expect(end.phase).toBe('done');
    const r2 = fed.state.rounds.filter((r) => r.round === 2);
    expect(r2.map((r) => r.status)).toEqual(['failed', 'completed']);
    expect(r2[0].error).toMatch(/threshold/);
    expect([...fed.state.versions.keys()]).toEqual([1, 2]); // the failed attempt stored nothing
  });

  it('fails cleanly when too few workers are online, and resumes once they are back', async () => {
    const options = { ...base, rounds: 3, secureAggregation: true, roundDeadlineSeconds: 1 };
    const fed = await MemoryFederation.create({ references, options });
    let steps = 0;
    await fed.driver(() => ++steps > 3).run(); // describe, keys, round 1
    expect(fed.state.state!.round).toBe(1);
    fed.offline.add('pbmc-10x-3p-v2');
    fed.offline.add('pbmc-10x-5p-vdj');
    await expect(fed.driver().run()).rejects.toThrow(/only 1 of 3 institutions are online.*needs 2/);
    expect(fed.state.state!.round).toBe(1); // nothing half-done: the model of round 1 stays
    fed.offline.clear();
    const end = await fed.driver().run();
    expect(end.phase).toBe('done');
    const reference = await embedded({ ...options });
    expect(Buffer.from((await fed.finalWeights()).buffer)).toEqual(
      Buffer.from(reference.model.params.buffer),
    );
  });

  it('holds a plain round to its threshold', async () => {
    const options = { ...base, rounds: 2, threshold: 3 };
    const fed = await MemoryFederation.create({ references, options });
    fed.intercept = (institution, name, data) =>
      name === 'train' && (data as { round: number }).round === 2 && institution === 'pbmc3k-10x-v1'
        ? { ok: false, reason: 'offline', timedOut: true, stateLost: false }
        : undefined;
    await expect(fed.driver().run()).rejects.toThrow(
      /failed 3 times.*2 institution\(s\) answered, the round needs 3/,
    );
    expect(fed.state.rounds.filter((r) => r.status === 'failed')).toHaveLength(3);
    expect(fed.state.versions.has(2)).toBe(false);
  });

  it("names an institution's own failure as the cause of a failed round", async () => {
    const options = { ...base, rounds: 1, threshold: 3 };
    const fed = await MemoryFederation.create({ references, options });
    const cause = 'the reference has a cell type with a single cell ("NK": 1 cell)';
    fed.intercept = (institution, name) =>
      name === 'train' && institution === 'pbmc-10x-3p-v2'
        ? { ok: false, reason: cause, timedOut: false, stateLost: false }
        : undefined;
    const failure = fed.driver().run();
    await expect(failure).rejects.toThrow(
      /^round 1 failed 3 times: pbmc-10x-3p-v2: the reference has a cell type/,
    );
    await expect(failure).rejects.toThrow(/2 institution\(s\) answered, the round needs 3/);
    const failed = fed.state.rounds.filter((r) => r.status === 'failed');
    expect(failed).toHaveLength(3);
    for (const r of failed) {
      expect(r.error).toContain(`pbmc-10x-3p-v2: ${cause}`);
      expect(r.dropouts).toEqual(['pbmc-10x-3p-v2']);
    }
  });

  it('trains a federation of one without secure aggregation though asked, and records why', async () => {
    const one = references.slice(0, 1);
    const options = { ...base, secureAggregation: true };
    const fed = await MemoryFederation.create({ references: one, options });
    const end = await fed.driver().run();
    expect(end.phase).toBe('done');
    expect(end.secagg).toBeUndefined();
    expect(fed.calls.filter((c) => c.name.startsWith('secagg-') || c.name === 'unmask')).toEqual([]);
    const plain = await embedded({ ...base, secureAggregation: false }, one);
    expect(Buffer.from((await fed.finalWeights()).buffer)).toEqual(Buffer.from(plain.model.params.buffer));
    const manifest = fed.state.versions.get(base.rounds)!.manifest;
    expect(manifest.options.aggregation).toBe('fedavg-uniform');
    expect(manifest.options.secureAggregationSkipped).toEqual(SINGLE_INSTITUTION_SKIP);
    expect(fed.state.landmarks.map((l) => l.institution)).toEqual(['pbmc3k-10x-v1']);
  });

  it('refuses landmarks that are not the ones the institution signed', async () => {
    const options = { ...base, rounds: 1, secureAggregation: true };
    const fed = await MemoryFederation.create({ references, options });
    const runtime = fed.runtimes.get('pbmc3k-10x-v1')!;
    const real = runtime.landmarks.bind(runtime);
    runtime.landmarks = async (job) => {
      const signed = await real(job);
      // Someone swaps the stored object for other landmarks after the institution signed its own.
      const forged = await fed.store.putBuffer(signed.landmarks.key, Buffer.from('{"forged":true}'));
      return { ...signed, landmarks: forged };
    };
    await expect(fed.driver().run()).rejects.toThrow(
      /pbmc3k-10x-v1's stored landmarks are not the ones it signed/,
    );
    expect(fed.state.landmarks).toHaveLength(0);
  });
});
