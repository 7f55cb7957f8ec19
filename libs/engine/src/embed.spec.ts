import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { referenceForward } from '../test-support/reference-model';
import { initBackend } from './backend';
import { embed } from './embed';
import { Embedder } from './embedder';
import { geneChunkBounds } from './gene-chunks';
import { initParameters } from './init-parameters';

const shape = { inputSize: 9, hiddenSize: 6, embeddingSize: 3 };
const nCells = 11;
const values = Float32Array.from({ length: nCells * 9 }, (_, i) => (i % 3 === 0 ? 0 : Math.abs(Math.sin(i))));
const params = initParameters(shape, 8);

function expectClose(actual: Float32Array, expected: Float64Array): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(actual[i]).toBeCloseTo(expected[i], 5);
}

beforeAll(async () => {
  await initBackend('wasm');
});

describe('embed', () => {
  it('should match a plain JavaScript forward pass', () => {
    expectClose(embed(params, shape, values, nCells), referenceForward(params, shape, values, nCells));
  });

  it('should give the same result with batches that do not divide the cell count', () => {
    expect(embed(params, shape, values, nCells, 4)).toEqual(embed(params, shape, values, nCells, 4096));
  });

  it('should match the plain forward pass when W1 is split into several gene chunks', () => {
    const wide = { inputSize: 1200, hiddenSize: 2100, embeddingSize: 3 };
    expect(geneChunkBounds(1200, 2100).length - 1).toBe(3);
    const wideParams = initParameters(wide, 2);
    const x = Float32Array.from({ length: 5 * 1200 }, (_, i) => (i % 7 === 0 ? Math.abs(Math.cos(i)) : 0));
    const expected = referenceForward(wideParams, wide, x, 5);
    expectClose(embed(wideParams, wide, x, 5, 2, { sparseDensity: 0 }), expected); // dense product
    expectClose(embed(wideParams, wide, x, 5, 2), expected); // sparse kernel (1/7 of genes non-zero)
  });

  it('should not leak tensors', () => {
    const before = tf.memory().numTensors;
    embed(params, shape, values, nCells, 3);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('should handle zero cells', () => {
    expect(embed(params, shape, new Float32Array(0), 0).length).toBe(0);
  });

  it('should reject values of the wrong size, naming the caller', () => {
    expect(() => embed(params, shape, values.subarray(1), nCells)).toThrow(/Embedder.embed: values/);
  });
});

describe('Embedder', () => {
  it('should reuse one upload across calls and free it on dispose', () => {
    const before = tf.memory().numTensors;
    const embedder = new Embedder(params, shape);
    const first = embedder.embed(values, nCells);
    const second = embedder.embed(values.subarray(0, 2 * 9), 2);
    expect(second).toEqual(first.subarray(0, 2 * 3));
    embedder.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(() => embedder.embed(values, nCells)).toThrow(/disposed/);
  });

  it('should not see later changes to the parameter array', () => {
    const own = params.slice();
    const embedder = new Embedder(own, shape);
    const before = embedder.embed(values, nCells);
    own.fill(0);
    expect(embedder.embed(values, nCells)).toEqual(before);
    embedder.dispose();
  });
});
