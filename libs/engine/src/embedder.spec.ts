import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { referenceForward } from '../test-support/reference-model';
import { sparseRows } from '../test-support/sparse-rows';
import { initBackend } from './backend';
import { embed } from './embed';
import { Embedder, SPARSE_DENSITY_THRESHOLD } from './embedder';
import { geneChunkBounds } from './gene-chunks';
import { initParameters } from './init-parameters';

// F = 2,500 at H = 500 is two gene chunks for the dense product (`geneChunkBounds`), so on wasm
// too its summation order differs from the kernel's (with one chunk, xnnpack adds genes in the
// kernel's order and the two paths give the same bits).
const shape = { inputSize: 2500, hiddenSize: 500, embeddingSize: 20 };
const f = shape.inputSize;
const e = shape.embeddingSize;
const params = initParameters(shape, 11);

/** Rows of several densities, all-zero and fully dense rows among them, in a mixed order. */
function mixedRows(): { values: Float32Array; nCells: number; nnz: number[] } {
  const densities = [0.05, 1, 0.1, 0, 0.3, 0.6, 0.09, 1, 0.15, 0.45, 0.55, 0.02];
  const nCells = 3 * densities.length;
  const values = new Float32Array(nCells * f);
  for (let c = 0; c < nCells; c++) {
    values.set(sparseRows(1, f, densities[c % densities.length], 100 + c), c * f);
  }
  const nnz = Array.from({ length: nCells }, (_, c) =>
    values.subarray(c * f, (c + 1) * f).reduce((n, v) => n + (v !== 0 ? 1 : 0), 0),
  );
  return { values, nCells, nnz };
}

const bits = (a: Float32Array) => new Uint32Array(a.slice().buffer);
const row = (a: Float32Array, c: number) => a.subarray(c * e, (c + 1) * e);

/** max |a - b| over all entries relative to max |b|. */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return err / scale;
}

describe.each(['wasm', 'cpu'] as const)('Embedder, sparse and dense rows (%s backend)', (backend) => {
  const { values, nCells, nnz } = mixedRows();

  beforeAll(async () => {
    await initBackend(backend);
  });
  afterAll(async () => {
    await initBackend('wasm');
  });

  it('should match a float64 forward pass on every row', () => {
    const actual = embed(params, shape, values, nCells);
    for (let c = 0; c < nCells; c++) {
      const expected = referenceForward(params, shape, values.subarray(c * f, (c + 1) * f), 1);
      expect(relativeError(row(actual, c), expected)).toBeLessThan(1e-5);
    }
  });

  it('should agree between the sparse kernel and the dense product to ~1e-5', () => {
    const sparse = embed(params, shape, values, nCells, undefined, { sparseDensity: 2 });
    const dense = embed(params, shape, values, nCells, undefined, { sparseDensity: 0 });
    expect(geneChunkBounds(f, shape.hiddenSize).length - 1).toBe(2);
    expect(bits(sparse)).not.toEqual(bits(dense)); // they sum in different orders
    for (let c = 0; c < nCells; c++) expect(relativeError(row(sparse, c), row(dense, c))).toBeLessThan(1e-5);
  });

  it('should choose the path from the row alone: sparse below the density threshold, else dense', () => {
    const sparse = embed(params, shape, values, nCells, undefined, { sparseDensity: 2 });
    const dense = embed(params, shape, values, nCells, undefined, { sparseDensity: 0 });
    const mixed = embed(params, shape, values, nCells);
    let nSparse = 0;
    for (let c = 0; c < nCells; c++) {
      const isSparse = nnz[c] / f < SPARSE_DENSITY_THRESHOLD;
      nSparse += isSparse ? 1 : 0;
      expect(bits(row(mixed, c))).toEqual(bits(row(isSparse ? sparse : dense, c)));
    }
    expect(nSparse).toBeGreaterThan(0);
    expect(nSparse).toBeLessThan(nCells);
  });

  it('should give a row the same bits in any batch, batch size, order or embedder', () => {
    const all = embed(params, shape, values, nCells);
    const embedder = new Embedder(params, shape);
    try {
      for (const batchSize of [1, 2, 5, 4096]) {
        expect(bits(embedder.embed(values, nCells, batchSize))).toEqual(bits(all));
      }
      // each row alone
      for (let c = 0; c < nCells; c++) {
        expect(bits(embedder.embed(values.subarray(c * f, (c + 1) * f), 1))).toEqual(bits(row(all, c)));
      }
      // reversed order, and a subset repeated (dense and sparse rows interleaved differently)
      const order = [...Array(nCells).keys()].reverse().concat([1, 7, 1, 3, 3]);
      const shuffled = new Float32Array(order.length * f);
      order.forEach((c, i) => shuffled.set(values.subarray(c * f, (c + 1) * f), i * f));
      for (const batchSize of [3, 4096]) {
        const out = embedder.embed(shuffled, order.length, batchSize);
        order.forEach((c, i) => expect(bits(row(out, i))).toEqual(bits(row(all, c))));
      }
    } finally {
      embedder.dispose();
    }
  });

  it('should embed an all-zero row', () => {
    const zeros = new Float32Array(2 * f);
    const out = embed(params, shape, zeros, 2);
    expect(relativeError(row(out, 0), referenceForward(params, shape, zeros, 1))).toBeLessThan(1e-6);
    expect(bits(row(out, 1))).toEqual(bits(row(out, 0)));
  });

  it('should not leak tensors, whichever paths ran', () => {
    const before = tf.memory().numTensors;
    for (const sparseDensity of [0, SPARSE_DENSITY_THRESHOLD, 2]) {
      const embedder = new Embedder(params, shape, { sparseDensity });
      embedder.embed(values, nCells, 4);
      embedder.embed(values.subarray(0, f), 1);
      embedder.dispose();
      embedder.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('Embedder options', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('should create no tensors while every row is sparse', () => {
    const before = tf.memory().numTensors;
    const embedder = new Embedder(params, shape);
    embedder.embed(sparseRows(10, f, 0.1, 1), 10);
    expect(tf.memory().numTensors).toBe(before);
    embedder.dispose();
  });

  it('should not see later changes to the parameter array on either path', () => {
    const { values } = mixedRows(); // row 0 sparse, row 1 dense
    const expected = embed(params, shape, values.subarray(0, 2 * f), 2);
    const own = params.slice();
    const embedder = new Embedder(own, shape);
    expect(embedder.embed(values.subarray(0, f), 1)).toEqual(expected.subarray(0, e));
    own.fill(0); // before the dense path uploads its tensors
    expect(embedder.embed(values.subarray(0, 2 * f), 2)).toEqual(expected);
    embedder.dispose();
  });

  it('should keep its dense-path tensors when first embedding dense rows inside tf.tidy', () => {
    const { values, nCells } = mixedRows();
    const expected = embed(params, shape, values, nCells);
    const embedder = new Embedder(params, shape);
    const inside = tf.tidy(() => embedder.embed(values, nCells));
    expect(embedder.embed(values, nCells)).toEqual(expected);
    expect(inside).toEqual(expected);
    embedder.dispose();
  });

  it('should count a row as sparse exactly when nnz / F < sparseDensity', async () => {
    await initBackend('cpu'); // where the two paths round differently even for a small model
    const small = { inputSize: 10, hiddenSize: 8, embeddingSize: 4 };
    const p = initParameters(small, 3);
    const rows = new Float32Array(11 * 10);
    for (let r = 0; r <= 10; r++) {
      for (let g = 0; g < r; g++) rows[r * 10 + g] = Math.log1p(1 + ((7 * r + 3 * g) % 11)); // r non-zero genes
    }
    const sparse = embed(p, small, rows, 11, undefined, { sparseDensity: 2 });
    const dense = embed(p, small, rows, 11, undefined, { sparseDensity: 0 });
    expect(bits(sparse)).not.toEqual(bits(dense)); // else the test could not tell the paths apart
    for (const sparseDensity of [0.3, 0.35, 0.7, 1]) {
      const out = embed(p, small, rows, 11, undefined, { sparseDensity });
      for (let r = 0; r <= 10; r++) {
        const chosen = r / 10 < sparseDensity ? sparse : dense;
        expect(out.subarray(r * 4, r * 4 + 4)).toEqual(chosen.subarray(r * 4, r * 4 + 4));
      }
    }
    await initBackend('wasm');
  });

  it('should reject a bad sparseDensity and parameters of the wrong length', () => {
    expect(() => new Embedder(params, shape, { sparseDensity: -1 })).toThrow(/sparseDensity/);
    expect(() => new Embedder(params, shape, { sparseDensity: Number.NaN })).toThrow(/sparseDensity/);
    expect(() => new Embedder(params.subarray(1), shape)).toThrow(/Embedder: params/);
  });
});
