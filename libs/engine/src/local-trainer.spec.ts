import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './backend';
import { geneChunkBounds } from './gene-chunks';
import { initParameters } from './init-parameters';
import { LocalTrainer } from './local-trainer';

const shape = { inputSize: 12, hiddenSize: 16, embeddingSize: 4 };

/** Types 0..2 express genes 4c..4c+3 (10 cells each); type 3 is a singleton. */
function toyData(): { values: Float32Array; labelCodes: Int32Array } {
  const labels: number[] = [];
  const rows: number[] = [];
  let k = 0;
  const noise = () => 0.1 * Math.abs(Math.sin(k++ * 12.9898));
  for (let c = 0; c < 3; c++) {
    for (let cell = 0; cell < 10; cell++) {
      labels.push(c);
      for (let g = 0; g < 12; g++) rows.push(Math.floor(g / 4) === c ? 1 + noise() * 5 : noise());
    }
  }
  labels.push(3);
  for (let g = 0; g < 12; g++) rows.push(1);
  return { values: Float32Array.from(rows), labelCodes: Int32Array.from(labels) };
}

beforeAll(async () => {
  await initBackend('wasm');
});

describe('LocalTrainer', () => {
  it('should train only on types with at least 2 cells', () => {
    const trainer = new LocalTrainer({ shape, ...toyData(), nTypes: 4, seed: 1 });
    expect([...trainer.trainingTypes]).toEqual([0, 1, 2]);
  });

  it('should decrease the loss on a separable toy dataset', () => {
    const trainer = new LocalTrainer({ shape, ...toyData(), nTypes: 4, seed: 1, learningRate: 0.005 });
    const params = initParameters(shape, 2);
    const losses = Array.from({ length: 60 }, () => trainer.step(params));
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean(losses.slice(-10))).toBeLessThan(0.5 * mean(losses.slice(0, 10)));
    expect(trainer.steps).toBe(60);
  });

  it('should be bit-identical for the same seed', () => {
    const run = () => {
      const trainer = new LocalTrainer({ shape, ...toyData(), nTypes: 4, seed: 9 });
      const params = initParameters(shape, 3);
      const losses = Array.from({ length: 15 }, () => trainer.step(params));
      return { params, losses };
    };
    const a = run();
    const b = run();
    expect(b.losses).toEqual(a.losses);
    expect(b.params).toEqual(a.params);
  });

  it('should sample differently for a different seed', () => {
    const params1 = initParameters(shape, 3);
    const params2 = params1.slice();
    new LocalTrainer({ shape, ...toyData(), nTypes: 4, seed: 1 }).step(params1);
    new LocalTrainer({ shape, ...toyData(), nTypes: 4, seed: 2 }).step(params2);
    expect(params2).not.toEqual(params1);
  });

  it('should not leak tensors over 20 steps', () => {
    const trainer = new LocalTrainer({ shape, ...toyData(), nTypes: 4, seed: 1 });
    const params = initParameters(shape, 2);
    trainer.step(params);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) trainer.step(params);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('should resume exactly from an exported state', () => {
    const data = toyData();
    const original = new LocalTrainer({ shape, ...data, nTypes: 4, seed: 4 });
    const params = initParameters(shape, 5);
    for (let i = 0; i < 5; i++) original.step(params);
    const state = original.exportState();
    const resumedParams = params.slice();
    const resumed = new LocalTrainer({ shape, ...data, nTypes: 4, seed: 999 });
    resumed.importState(state);
    expect(resumed.steps).toBe(5);
    for (let i = 0; i < 5; i++) expect(resumed.step(resumedParams)).toBe(original.step(params));
    expect(resumedParams).toEqual(params);
  });

  it('should keep the Adam state per trainer (never shared)', () => {
    const data = toyData();
    const a = new LocalTrainer({ shape, ...data, nTypes: 4, seed: 4 });
    const b = new LocalTrainer({ shape, ...data, nTypes: 4, seed: 4 });
    const pa = initParameters(shape, 5);
    a.step(pa);
    expect(b.exportState().adam.t).toBe(0);
    expect(b.exportState().adam.m.every((x) => x === 0)).toBe(true);
  });

  it('should train exactly as without dropout when inputDropout is 0', () => {
    const run = (inputDropout?: number) => {
      const trainer = new LocalTrainer({ shape, ...toyData(), nTypes: 4, seed: 9, inputDropout });
      const params = initParameters(shape, 3);
      const losses = Array.from({ length: 10 }, () => trainer.step(params));
      return { params, losses };
    };
    expect(run(0)).toEqual(run(undefined));
  });

  it('should drop genes from its own generator: reproducible, and different updates', () => {
    const run = (inputDropout: number, steps = 10) => {
      const trainer = new LocalTrainer({ shape, ...toyData(), nTypes: 4, seed: 9, inputDropout });
      const params = initParameters(shape, 3);
      const losses = Array.from({ length: steps }, () => trainer.step(params));
      return { params, losses };
    };
    const plain = run(0);
    const dropped = run(0.3);
    expect(run(0.3)).toEqual(dropped);
    expect(dropped.params).not.toEqual(plain.params);
    // The batches are the sampler's, untouched by dropout: the first loss (before any update)
    // differs from the plain run's only through the dropped values.
    expect(run(0.3, 1).losses[0]).not.toBe(plain.losses[0]);
  });

  it('should resume exactly from an exported state with gene dropout', () => {
    const data = toyData();
    const original = new LocalTrainer({ shape, ...data, nTypes: 4, seed: 4, inputDropout: 0.25 });
    const params = initParameters(shape, 5);
    for (let i = 0; i < 5; i++) original.step(params);
    const state = original.exportState();
    expect(state.augmentRng).toHaveLength(4);
    const resumedParams = params.slice();
    const resumed = new LocalTrainer({ shape, ...data, nTypes: 4, seed: 999, inputDropout: 0.25 });
    resumed.importState(state);
    for (let i = 0; i < 5; i++) expect(resumed.step(resumedParams)).toBe(original.step(params));
    expect(resumedParams).toEqual(params);
    const plainState = new LocalTrainer({ shape, ...data, nTypes: 4, seed: 4 }).exportState();
    expect(plainState.augmentRng).toBeUndefined();
    expect(() => resumed.importState(plainState)).toThrow(/no gene-dropout generator/);
  });

  it('should give the same result with and without gene compaction, in several gene chunks', () => {
    // F = 1,200 genes at H = 2,100 span 3 gene chunks; genes 12.. are all zero except gene 700,
    // so a batch has 13 active genes (compaction applies).
    const wide = { inputSize: 1200, hiddenSize: 2100, embeddingSize: 4 };
    expect(geneChunkBounds(1200, 2100).length - 1).toBe(3);
    const toy = toyData();
    const values = new Float32Array(toy.labelCodes.length * 1200);
    toy.labelCodes.forEach((_, cell) => {
      values.set(toy.values.subarray(cell * 12, cell * 12 + 12), cell * 1200);
      values[cell * 1200 + 700] = (cell % 5) + 1;
    });
    const run = (compactGenes: boolean, inputDropout = 0) => {
      const trainer = new LocalTrainer({
        shape: wide,
        values,
        labelCodes: toy.labelCodes,
        nTypes: 4,
        seed: 3,
        compactGenes,
        inputDropout,
      });
      const params = initParameters(wide, 4);
      const losses = Array.from({ length: 5 }, () => trainer.step(params));
      return { params, losses };
    };
    const dense = run(false);
    const compact = run(true);
    compact.losses.forEach((loss, i) => expect(loss).toBeCloseTo(dense.losses[i], 5));
    let worst = 0;
    for (let i = 0; i < dense.params.length; i++)
      worst = Math.max(worst, Math.abs(compact.params[i] - dense.params[i]));
    // Chunk boundaries differ, so sums round differently; Adam normalises each gradient by its
    // own scale, so near-zero gradients can turn a 1e-7 difference into a visible fraction of
    // a step. Bound: 2% of the largest possible move, 5 steps x lr (5 x 0.0005).
    expect(worst).toBeLessThan(0.02 * 5 * 0.0005);
    // With gene dropout both draw in each cell's gene order, so they drop the same values.
    const denseDropped = run(false, 0.3);
    const compactDropped = run(true, 0.3);
    compactDropped.losses.forEach((loss, i) => expect(loss).toBeCloseTo(denseDropped.losses[i], 5));
    expect(denseDropped.losses).not.toEqual(dense.losses);
    worst = 0;
    for (let i = 0; i < dense.params.length; i++)
      worst = Math.max(worst, Math.abs(compactDropped.params[i] - denseDropped.params[i]));
    expect(worst).toBeLessThan(0.02 * 5 * 0.0005);
  });

  it('should leave the W1 rows of genes that are zero in every cell unchanged by a first step', () => {
    const wide = { inputSize: 40, hiddenSize: 16, embeddingSize: 4 };
    const toy = toyData();
    const values = new Float32Array(toy.labelCodes.length * 40);
    toy.labelCodes.forEach((_, cell) =>
      values.set(toy.values.subarray(cell * 12, cell * 12 + 12), cell * 40),
    );
    const trainer = new LocalTrainer({ shape: wide, values, labelCodes: toy.labelCodes, nTypes: 4, seed: 3 });
    const params = initParameters(wide, 4);
    const before = params.slice();
    trainer.step(params);
    // Rows 12..39 of W1 (F x H row-major): zero gradient, zero first moment, so no move.
    expect(params.subarray(12 * 16, 40 * 16)).toEqual(before.subarray(12 * 16, 40 * 16));
    expect(params.subarray(0, 12 * 16)).not.toEqual(before.subarray(0, 12 * 16));
  });

  it('should refuse data with no type of 2 or more cells', () => {
    expect(
      () =>
        new LocalTrainer({
          shape,
          values: new Float32Array(2 * 12),
          labelCodes: Int32Array.from([0, 1]),
          nTypes: 2,
          seed: 1,
        }),
    ).toThrow('needs at least one cell type with 2 or more cells');
  });

  it('should validate its inputs, naming the class', () => {
    const { values, labelCodes } = toyData();
    expect(
      () => new LocalTrainer({ shape, values: values.subarray(1), labelCodes, nTypes: 4, seed: 1 }),
    ).toThrow(/LocalTrainer: values/);
    expect(() => new LocalTrainer({ shape, values, labelCodes, nTypes: 3, seed: 1 })).toThrow(
      /LocalTrainer: label code 3/,
    );
    expect(
      () => new LocalTrainer({ shape, values, labelCodes, nTypes: 4, seed: 1, inputDropout: 1 }),
    ).toThrow(/LocalTrainer: inputDropout must be in \[0, 1\), got 1/);
    const trainer = new LocalTrainer({ shape, values, labelCodes, nTypes: 4, seed: 1 });
    expect(() => trainer.step(new Float32Array(3))).toThrow(/LocalTrainer.step: params/);
  });
});
