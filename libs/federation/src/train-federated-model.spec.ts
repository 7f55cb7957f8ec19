import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { initBackend } from '@fl/engine';
import { InputError, type ExpressionMatrix } from '@fl/formats';
import { annotateMatrix } from './annotate';
import { findWorkerScript } from './threads/worker-handle';
import { trainFederatedModel, type ReferenceDataset } from './train-federated-model';

/**
 * Three toy institutions: cell types are blocks of high genes, so they are separable; the
 * institutions name some genes in different case and lack some genes, as real ones do.
 */
function toyInstitution(
  name: string,
  genes: string[],
  types: string[],
  perType: number,
  seed: number,
): ReferenceDataset {
  let s = seed;
  const rand = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const cellIds: string[] = [];
  const labels: string[] = [];
  const rows: number[] = [];
  types.forEach((type, t) => {
    for (let c = 0; c < perType; c++) {
      cellIds.push(`${name}_${type}_${c}`);
      labels.push(type);
      genes.forEach((g, j) => rows.push((j % types.length === t ? 2 : 0) + rand() * 0.5));
    }
  });
  const matrix: ExpressionMatrix = {
    source: `${name}.csv`,
    cellIds,
    genes,
    labels,
    values: Float32Array.from(rows),
  };
  return { name, matrix };
}

const genes = Array.from({ length: 24 }, (_, i) => `G${i}`);
const references = () => [
  toyInstitution('a', genes, ['alpha', 'beta', 'gamma'], 6, 1),
  toyInstitution(
    'b',
    genes.slice(0, 20).map((g) => g.toLowerCase()),
    ['alpha', 'beta', 'gamma'],
    5,
    2,
  ),
  toyInstitution('c', genes.slice(3), ['alpha', 'beta', 'gamma', 'delta'], 4, 3),
];
const small = { rounds: 30, hiddenSize: 16, embeddingSize: 4, learningRate: 0.01 };

describe(trainFederatedModel.name, () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('should give the same model bit for bit for the same seed and data', async () => {
    const first = await trainFederatedModel(references(), { ...small, seed: 5 });
    const second = await trainFederatedModel(references(), { ...small, seed: 5 });
    expect(Buffer.from(second.model.params.buffer).equals(Buffer.from(first.model.params.buffer))).toBe(true);
    expect(second.model.landmarks.map((l) => Array.from(l.landmarks))).toEqual(
      first.model.landmarks.map((l) => Array.from(l.landmarks)),
    );
  });

  it('should give a different model for a different seed', async () => {
    const a = await trainFederatedModel(references(), { ...small, seed: 5 });
    const b = await trainFederatedModel(references(), { ...small, seed: 6 });
    expect(Buffer.from(a.model.params.buffer).equals(Buffer.from(b.model.params.buffer))).toBe(false);
  });

  it('should build the gene union and give every institution landmarks for all its types', async () => {
    const sut = await trainFederatedModel(references(), { ...small, seed: 1 });
    expect(sut.model.genes).toHaveLength(24);
    expect(sut.model.landmarks.map((l) => l.types)).toEqual([
      ['alpha', 'beta', 'gamma'],
      ['alpha', 'beta', 'gamma'],
      ['alpha', 'beta', 'delta', 'gamma'],
    ]);
    expect(sut.model.landmarks[2].landmarks).toHaveLength(4 * 4);
    expect(sut.history).toHaveLength(30);
  });

  it('should lower the loss and label held-out toy cells correctly', async () => {
    const sut = await trainFederatedModel(references(), { ...small, rounds: 60, seed: 2 });
    const first = sut.history[0].meanLoss;
    const last = sut.history[sut.history.length - 1].meanLoss;
    expect(last).toBeLessThan(first);
    const query = toyInstitution('q', genes, ['alpha', 'beta', 'gamma'], 5, 99).matrix;
    const annotation = await annotateMatrix(sut.model, query);
    const correct = annotation.labels.filter((l, i) => l === query.labels![i]).length;
    expect(correct / annotation.labels.length).toBeGreaterThanOrEqual(0.9);
  });

  it('should give the same model with institutions in worker threads as in one thread', async (ctx) => {
    if (!findWorkerScript()) {
      ctx.skip(); // the worker script exists after `npm run build`; .ci/run builds first
      return;
    }
    expect(existsSync(findWorkerScript()!)).toBe(true);
    const inline = await trainFederatedModel(references(), { ...small, seed: 3, threads: 1 });
    const threaded = await trainFederatedModel(references(), { ...small, seed: 3, threads: 2 });
    expect(Buffer.from(threaded.model.params.buffer).equals(Buffer.from(inline.model.params.buffer))).toBe(
      true,
    );
    const q = toyInstitution('q', genes, ['alpha', 'beta'], 40_000, 7).matrix;
    const one = await annotateMatrix(inline.model, q, { threads: 1 });
    const two = await annotateMatrix(inline.model, q, { threads: 2 });
    expect(two.labels).toEqual(one.labels);
    expect(Array.from(two.confidence)).toEqual(Array.from(one.confidence));
  });

  it('should drop genes the same way in worker threads as in one thread, and record the rate', async (ctx) => {
    if (!findWorkerScript()) {
      ctx.skip(); // the worker script exists after `npm run build`; .ci/run builds first
      return;
    }
    const dropped = { ...small, seed: 3, inputDropout: 0.25 };
    const inline = await trainFederatedModel(references(), { ...dropped, threads: 1 });
    const threaded = await trainFederatedModel(references(), { ...dropped, threads: 2 });
    expect(Buffer.from(threaded.model.params.buffer).equals(Buffer.from(inline.model.params.buffer))).toBe(
      true,
    );
    expect(inline.options.inputDropout).toBe(0.25);
    const plain = await trainFederatedModel(references(), { ...small, seed: 3, threads: 1 });
    expect(plain.options).not.toHaveProperty('inputDropout');
    expect(Buffer.from(plain.model.params.buffer).equals(Buffer.from(inline.model.params.buffer))).toBe(
      false,
    );
    await expect(trainFederatedModel(references(), { ...small, inputDropout: 0.95 })).rejects.toThrow(
      'inputDropout must be a number from 0 (none) to 0.9, got 0.95',
    );
  });

  it('should train an ensemble: member 0 is the single model, the others new seeds, the same in threads', async (ctx) => {
    const single = await trainFederatedModel(references(), { ...small, seed: 3, threads: 1 });
    const inline = await trainFederatedModel(references(), {
      ...small,
      seed: 3,
      threads: 1,
      ensembleSize: 3,
    });
    const bytes = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    expect(bytes(inline.model.params).equals(bytes(single.model.params))).toBe(true);
    expect(inline.model.ensemble).toHaveLength(2);
    const [m1, m2] = inline.model.ensemble!;
    expect(bytes(m1.params).equals(bytes(single.model.params))).toBe(false);
    expect(bytes(m1.params).equals(bytes(m2.params))).toBe(false);
    expect(m1.landmarks.map((l) => l.types)).toEqual(single.model.landmarks.map((l) => l.types));
    expect(inline.options.ensembleSize).toBe(3);
    expect(inline.history).toHaveLength(3 * small.rounds);
    // The ensemble labels the toy cells as well as one model, with the mean correlation as confidence.
    const q = toyInstitution('q', genes, ['alpha', 'beta', 'gamma'], 10, 9).matrix;
    const labels = (await annotateMatrix(inline.model, q)).labels;
    expect(labels.filter((l, i) => l === q.labels![i]).length / labels.length).toBeGreaterThanOrEqual(0.9);
    if (!findWorkerScript()) {
      ctx.skip(); // the worker script exists after `npm run build`; .ci/run builds first
      return;
    }
    // Threaded pools take the cells' buffers: every member must still see all of them.
    const threaded = await trainFederatedModel(references(), {
      ...small,
      seed: 3,
      threads: 2,
      ensembleSize: 3,
    });
    expect(bytes(threaded.model.params).equals(bytes(inline.model.params))).toBe(true);
    threaded.model.ensemble!.forEach((m, k) =>
      expect(bytes(m.params).equals(bytes(inline.model.ensemble![k].params))).toBe(true),
    );
  });

  it('should refuse an ensemble size outside 1-16', async () => {
    await expect(trainFederatedModel(references(), { ...small, ensembleSize: 0 })).rejects.toThrow(
      /ensembleSize must be a whole number from 1 to 16, got 0/,
    );
  });

  it('should give the same secure model with masking and unmasking in worker threads as in one thread', async (ctx) => {
    if (!findWorkerScript()) {
      ctx.skip(); // the worker script exists after `npm run build`; .ci/run builds first
      return;
    }
    const opts = { ...small, seed: 5, rounds: 6, secureAggregation: {} };
    const inline = await trainFederatedModel(references(), { ...opts, threads: 1 });
    const threaded = await trainFederatedModel(references(), { ...opts, threads: 2 });
    expect(threaded.secureAggregation?.reports.every((r) => r.survivors === 3)).toBe(true);
    expect(Buffer.from(threaded.model.params.buffer).equals(Buffer.from(inline.model.params.buffer))).toBe(
      true,
    );
  });

  it('should train the same model with secure aggregation, up to the fixed-point bound', async () => {
    const plain = await trainFederatedModel(references(), { ...small, seed: 4, rounds: 10 });
    const secure = await trainFederatedModel(references(), {
      ...small,
      seed: 4,
      rounds: 10,
      secureAggregation: {},
    });
    expect(secure.options.aggregation).toBe('secagg-fedavg-uniform');
    expect(secure.secureAggregation?.reports).toHaveLength(10);
    expect(secure.secureAggregation?.reports.every((r) => r.survivors === 3 && r.outOfRange === 0)).toBe(
      true,
    );
    let worst = 0;
    for (let i = 0; i < plain.model.params.length; i++) {
      worst = Math.max(worst, Math.abs(plain.model.params[i] - secure.model.params[i]));
    }
    // Updates are clipped at 8 lr = 0.08 and sent in 16-bit lanes shared by 3 inputs: one
    // quantisation step is 0.24 / 32764 = 7.3e-6, i.e. 7e-4 of the learning rate. Ten Adam rounds
    // keep the trajectories within a few steps of each other, far below one step's size (lr = 0.01).
    expect(worst).toBeGreaterThan(0);
    expect(worst).toBeLessThan(1e-3 * small.learningRate * 10);
    const query = toyInstitution('q', genes, ['alpha', 'beta', 'gamma'], 5, 99).matrix;
    const a = await annotateMatrix(plain.model, query);
    const b = await annotateMatrix(secure.model, query);
    expect(b.labels).toEqual(a.labels);
  });

  it('should train one institution without secure aggregation, as with it off, and say why', async () => {
    const one = () => [references()[0]];
    const plain = await trainFederatedModel(one(), {
      ...small,
      seed: 4,
      rounds: 5,
      secureAggregation: false,
    });
    const asked = await trainFederatedModel(one(), { ...small, seed: 4, rounds: 5, secureAggregation: {} });
    expect(Buffer.from(asked.model.params.buffer).equals(Buffer.from(plain.model.params.buffer))).toBe(true);
    expect(asked.model.landmarks.map((l) => Array.from(l.landmarks))).toEqual(
      plain.model.landmarks.map((l) => Array.from(l.landmarks)),
    );
    expect(asked.secureAggregation).toBeUndefined();
    expect(asked.options.aggregation).toBe('fedavg-uniform');
    expect(asked.options.secureAggregationSkipped).toEqual({
      reason: 'single-institution',
      message: expect.stringMatching(/^One institution: secure aggregation is not needed/),
    });
    // Asked off, nothing was skipped.
    expect(plain.options.secureAggregationSkipped).toBeUndefined();
  });

  it('should keep secure aggregation for two institutions', async () => {
    const two = await trainFederatedModel(references().slice(0, 2), {
      ...small,
      seed: 4,
      rounds: 2,
      secureAggregation: {},
    });
    expect(two.options.aggregation).toBe('secagg-fedavg-uniform');
    expect(two.options.secureAggregationSkipped).toBeUndefined();
    expect(two.secureAggregation?.reports.map((r) => r.survivors)).toEqual([2, 2]);
  });

  it('should refuse a reference whose cell type has a single cell, naming file and type', async () => {
    const refs = references();
    refs[0].matrix.labels![0] = 'lonely';
    const act = trainFederatedModel(refs, small);
    await expect(act).rejects.toThrow(InputError);
    await expect(trainFederatedModel(refs, small)).rejects.toThrow(
      /a\.csv: cell type "lonely" has only one cell/,
    );
  });

  it('should train without singleton types and still give them a landmark when allowed', async () => {
    const refs = references();
    refs[0].matrix.labels![0] = 'lonely';
    const sut = await trainFederatedModel(refs, { ...small, rounds: 2, allowSingletonTypes: true });
    expect(sut.model.landmarks[0].types).toContain('lonely');
  });

  it('should refuse a reference without labels', async () => {
    const refs = references();
    delete refs[1].matrix.labels;
    await expect(trainFederatedModel(refs, small)).rejects.toThrow(
      /b\.csv: reference files need a `cell_label` column/,
    );
  });
});
