import { describe, expect, it } from 'vitest';
import { parameterLayout } from '@fl/engine';
import type { FederationOptions } from './federation-driver';
import { assembleModel, decodeLandmarkSet, type ModelVersionManifest } from './model-objects';
import { MemoryFederation } from './testing/in-memory-federation';
import { embeddedFederation, PBMC_MINI_REFERENCES } from './testing/pbmc-mini';

// An ensemble (the ensemble presets) trained by the aggregator: its models side by side in one
// parameter vector, each from its own seed, must be the embedded federation's models bit for bit.
const references = PBMC_MINI_REFERENCES;

const options: FederationOptions = {
  rounds: 3,
  localSteps: 1,
  learningRate: 0.0005,
  seed: 7,
  hiddenSize: 32,
  embeddingSize: 8,
  weighting: 'uniform',
  secureAggregation: false,
  roundDeadlineSeconds: 30,
  variableGenes: 100,
  ensembleSize: 3,
};

async function check(fed: MemoryFederation, opts: FederationOptions) {
  const reference = await embeddedFederation(opts);
  const models = [reference.model, ...(reference.model.ensemble ?? [])];
  expect(models).toHaveLength(3);
  const perModel = parameterLayout(reference.model.shape).total;
  // The final version holds the three models one after another.
  const weights = await fed.finalWeights();
  expect(weights.length).toBe(3 * perModel);
  models.forEach((m, k) =>
    expect(Buffer.from(weights.slice(k * perModel, (k + 1) * perModel).buffer), `model ${k}`).toEqual(
      Buffer.from(m.params.slice().buffer),
    ),
  );
  // Every institution's landmarks of every model, recorded per model.
  const recorded = fed.state.landmarks;
  expect(recorded.map((l) => [l.member, l.institution])).toEqual(
    [0, 1, 2].flatMap((k) => references.map((r) => [k, r.institution])),
  );
  for (const l of recorded) {
    const set = decodeLandmarkSet(
      (await fed.store.getBuffer(l.object.key, l.object.sha256)).toString('utf8'),
      opts.embeddingSize,
    );
    const expected = models[l.member].landmarks.find((s) => s.institution === l.institution)!;
    expect(set.types).toEqual(expected.types);
    expect(Buffer.from(set.landmarks.buffer)).toEqual(Buffer.from(expected.landmarks.slice().buffer));
  }
  // The stored version reads back as the embedded ensemble (what annotation and export use).
  const version = fed.state.versions.get(opts.rounds)!;
  const manifest = version.manifest as ModelVersionManifest;
  expect(manifest.options.ensembleSize).toBe(3);
  expect(manifest.parameterCount).toBe(perModel);
  const assembled = await assembleModel(
    fed.store,
    { objectKey: version.weights.key, sha256: version.weights.sha256, manifest },
    recorded.map((l) => ({ key: l.object.key, sha256: l.object.sha256, member: l.member })),
  );
  expect(assembled.genes).toEqual(reference.model.genes);
  expect(assembled.ensemble?.map((m) => Buffer.from(m.params.slice().buffer))).toEqual(
    reference.model.ensemble?.map((m) => Buffer.from(m.params.slice().buffer)),
  );
  expect(assembled.ensemble?.[1].landmarks.map((s) => s.institution)).toEqual(
    references.map((r) => r.institution),
  );
}

describe('an ensemble trained by the aggregator', () => {
  it('trains every model of the embedded ensemble bit for bit, secure aggregation off', async () => {
    const fed = await MemoryFederation.create({ references, options });
    const end = await fed.driver().run();
    expect(end.phase).toBe('done');
    await check(fed, options);
    // Each round is one job per institution for all three models.
    expect(fed.calls.filter((c) => c.name === 'train')).toHaveLength(3 * references.length);
  });

  it('trains every model of the embedded ensemble bit for bit under secure aggregation, landmarks signed', async () => {
    const secure = { ...options, secureAggregation: true };
    const fed = await MemoryFederation.create({ references, options: secure });
    await fed.driver().run();
    await check(fed, secure);
  });

  it('trains with gene dropout bit for bit, and records it in the version', async () => {
    const dropped = { ...options, inputDropout: 0.2 };
    const fed = await MemoryFederation.create({ references, options: dropped });
    await fed.driver().run();
    await check(fed, dropped);
    const manifest = fed.state.versions.get(dropped.rounds)!.manifest as ModelVersionManifest;
    expect(manifest.options.inputDropout).toBe(0.2);
    // The workers did drop genes: the models are not those trained without dropout.
    const plain = await embeddedFederation(options);
    const weights = await fed.finalWeights();
    expect(Buffer.from(weights.slice(0, plain.model.params.length).buffer)).not.toEqual(
      Buffer.from(plain.model.params.slice().buffer),
    );
  });

  it('lets each worker decide the dropout on its own cells, on all its genes', async () => {
    // The example files hold a few hundred well-detected genes: 27% of them detected in a pbmc3k
    // cell, 35% and 38% in the other two. With a 30% bound only the other two drop genes.
    const bounded = { ...options, inputDropout: 0.2, inputDropoutMinDetection: 0.3 };
    const embedded = await embeddedFederation(bounded);
    expect(embedded.inputDropoutAt?.map((a) => a.rate)).toEqual([0, 0.2, 0.2]);
    expect(embedded.inputDropoutAt?.map((a) => Math.round(a.detection * 100))).toEqual([27, 35, 38]);
    const fed = await MemoryFederation.create({ references, options: bounded });
    await fed.driver().run();
    await check(fed, bounded);
    const manifest = fed.state.versions.get(bounded.rounds)!.manifest as ModelVersionManifest;
    expect(manifest.options).toMatchObject({ inputDropout: 0.2, inputDropoutMinDetection: 0.3 });
    // Neither the model of dropout everywhere nor that of none.
    const weights = Buffer.from((await fed.finalWeights()).slice(0, embedded.model.params.length).buffer);
    for (const other of [{ ...options, inputDropout: 0.2 }, options]) {
      const model = (await embeddedFederation(other)).model.params;
      expect(weights.equals(Buffer.from(model.slice().buffer))).toBe(false);
    }
  });

  it('fails the federation naming an institution that returns landmarks for fewer models', async () => {
    const fed = await MemoryFederation.create({ references, options: { ...options, rounds: 1 } });
    const runtime = fed.runtimes.get('pbmc-10x-3p-v2')!;
    const real = runtime.landmarks.bind(runtime);
    runtime.landmarks = async (job) => {
      const result = await real(job);
      return { ...result, members: result.members?.slice(0, 1) };
    };
    await expect(fed.driver().run()).rejects.toThrow(
      /pbmc-10x-3p-v2 sent no landmarks for model 3 of the ensemble/,
    );
    expect(fed.state.landmarks).toHaveLength(0);
  });
});
