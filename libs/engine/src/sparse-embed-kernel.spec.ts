import { describe, expect, it } from 'vitest';
import { referenceForward } from '../test-support/reference-model';
import { sparseRows } from '../test-support/sparse-rows';
import { initParameters } from './init-parameters';
import type { ModelShape } from './model-shape';
import { SparseEmbedKernel, sparseKernelAvailable } from './sparse-embed-kernel';

/** Embeds every row with the kernel (all must be sparse enough), E floats per row. */
function kernelEmbed(kernel: SparseEmbedKernel, shape: ModelShape, values: Float32Array): Float32Array {
  const { inputSize: f, embeddingSize: e } = shape;
  const n = values.length / f;
  const out = new Float32Array(n * e);
  let cell = 0;
  while (cell < n) {
    const first = cell;
    while (cell < n && !kernel.full) {
      if (!kernel.stageRow(values, cell * f)) throw new Error(`row ${cell} refused`);
      cell++;
    }
    const y = kernel.run();
    expect(y.length).toBe((cell - first) * kernel.outStride);
    for (let i = first; i < cell; i++) {
      out.set(y.subarray((i - first) * kernel.outStride, (i - first) * kernel.outStride + e), i * e);
    }
  }
  return out;
}

/** max |actual - expected| over a row, relative to max |expected| of that row. */
function expectRowsClose(actual: Float32Array, expected: Float64Array, e: number, tolerance: number): void {
  expect(actual.length).toBe(expected.length);
  for (let r = 0; r < expected.length / e; r++) {
    let err = 0;
    let scale = 0;
    for (let k = r * e; k < (r + 1) * e; k++) {
      err = Math.max(err, Math.abs(actual[k] - expected[k]));
      scale = Math.max(scale, Math.abs(expected[k]));
    }
    expect(err).toBeLessThanOrEqual(tolerance * scale);
  }
}

describe('SparseEmbedKernel', () => {
  it('should be available under Node (WebAssembly SIMD)', () => {
    expect(sparseKernelAvailable()).toBe(true);
  });

  it.each([
    { inputSize: 2000, hiddenSize: 500, embeddingSize: 20, density: 0.09 },
    { inputSize: 203, hiddenSize: 50, embeddingSize: 7, density: 0.3 }, // F, H, E not multiples of 4
    { inputSize: 37, hiddenSize: 1, embeddingSize: 1, density: 1 },
    { inputSize: 5, hiddenSize: 97, embeddingSize: 33, density: 0.5 },
  ])('should match a float64 forward pass to 1e-5 (F=$inputSize, H=$hiddenSize, E=$embeddingSize)', (c) => {
    const shape = { inputSize: c.inputSize, hiddenSize: c.hiddenSize, embeddingSize: c.embeddingSize };
    const params = initParameters(shape, 7);
    const n = 40;
    const values = sparseRows(n, shape.inputSize, c.density, 3);
    const kernel = SparseEmbedKernel.create(params, shape, shape.inputSize, { rowsPerCall: 16 })!;
    const actual = kernelEmbed(kernel, shape, values);
    expectRowsClose(actual, referenceForward(params, shape, values, n), shape.embeddingSize, 1e-5);
  });

  it('should embed an all-zero row as relu(b1) W2 + b2', () => {
    const shape = { inputSize: 13, hiddenSize: 30, embeddingSize: 6 };
    const params = initParameters(shape, 2);
    // a positive bias for some units so relu(b1) is not all zero
    for (let j = 0; j < 30; j += 3) params[13 * 30 + j] = 0.5;
    const kernel = SparseEmbedKernel.create(params, shape, 0)!;
    const zeros = new Float32Array(2 * 13);
    const actual = kernelEmbed(kernel, shape, zeros);
    expectRowsClose(actual, referenceForward(params, shape, zeros, 2), 6, 1e-6);
    expect(actual.subarray(0, 6)).toEqual(actual.subarray(6, 12));
  });

  it('should refuse rows with more than maxRowNnz non-zero genes and stage nothing for them', () => {
    const shape = { inputSize: 10, hiddenSize: 8, embeddingSize: 4 };
    const params = initParameters(shape, 4);
    const kernel = SparseEmbedKernel.create(params, shape, 3, { rowsPerCall: 4 })!;
    const rows = new Float32Array(3 * 10);
    rows.set([0, 1, 0, 0, 2, 0, 0, 0, 3, 0], 0); // 3 non-zero: taken
    rows.set([1, 1, 1, 1, 0, 0, 0, 0, 0, 0], 10); // 4: refused
    rows.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 5], 20); // 1: taken
    expect(kernel.stageRow(rows, 0)).toBe(true);
    expect(kernel.stageRow(rows, 10)).toBe(false);
    expect(kernel.stageRow(rows, 20)).toBe(true);
    expect(kernel.staged).toBe(2);
    const y = kernel.run();
    const expected = referenceForward(
      params,
      shape,
      Float32Array.from([...rows.subarray(0, 10), ...rows.subarray(20)]),
      2,
    );
    expectRowsClose(Float32Array.from([...y.subarray(0, 4), ...y.subarray(4, 8)]), expected, 4, 1e-6);
    expect(kernel.staged).toBe(0);
    expect(kernel.run().length).toBe(0);
  });

  it('should give the same bits for a row whatever the other rows of a call', () => {
    const shape = { inputSize: 300, hiddenSize: 70, embeddingSize: 9 };
    const params = initParameters(shape, 5);
    const values = sparseRows(30, 300, 0.1, 8);
    const all = kernelEmbed(SparseEmbedKernel.create(params, shape, 300, { rowsPerCall: 7 })!, shape, values);
    const kernel = SparseEmbedKernel.create(params, shape, 300, { rowsPerCall: 1 })!;
    for (const r of [0, 13, 29]) {
      const one = kernelEmbed(kernel, shape, values.subarray(r * 300, (r + 1) * 300));
      expect(new Uint32Array(one.buffer)).toEqual(new Uint32Array(all.slice(r * 9, (r + 1) * 9).buffer));
    }
  });

  it('should give the same bits whatever the gene chunks (F = 203 in chunks of 1, 7, 64 or 203 genes)', () => {
    const shape = { inputSize: 203, hiddenSize: 50, embeddingSize: 7 };
    const params = initParameters(shape, 12);
    const values = sparseRows(25, 203, 0.2, 13);
    values.fill(0, 5 * 203, 6 * 203); // an all-zero row
    values.fill(1.5, 7 * 203, 8 * 203); // a full one
    const one = kernelEmbed(
      SparseEmbedKernel.create(params, shape, 203, { chunkGenes: 203 })!,
      shape,
      values,
    );
    expectRowsClose(one, referenceForward(params, shape, values, 25), 7, 1e-5);
    for (const chunkGenes of [1, 7, 64]) {
      const kernel = SparseEmbedKernel.create(params, shape, 203, { chunkGenes, rowsPerCall: 6 })!;
      expect(new Uint32Array(kernelEmbed(kernel, shape, values).buffer)).toEqual(new Uint32Array(one.buffer));
    }
  });

  it('should run many calls when the entries of the staged rows fill its capacity', () => {
    const shape = { inputSize: 3000, hiddenSize: 8, embeddingSize: 4 };
    const params = initParameters(shape, 6);
    const values = sparseRows(300, 3000, 0.6, 9); // ~1,800 entries a row, ~540,000 in all
    const kernel = SparseEmbedKernel.create(params, shape, 3000, { rowsPerCall: 300 })!;
    const actual = kernelEmbed(kernel, shape, values);
    expectRowsClose(actual, referenceForward(params, shape, values, 300), 4, 1e-5);
  });

  it('should compute the same after reusing a released kernel memory of another shape', () => {
    const shapeA = { inputSize: 9, hiddenSize: 48, embeddingSize: 8 };
    const a = SparseEmbedKernel.create(initParameters(shapeA, 1), shapeA, 9)!;
    kernelEmbed(a, shapeA, new Float32Array(5 * 9).fill(5));
    a.release();
    a.release();
    const shape = { inputSize: 7, hiddenSize: 47, embeddingSize: 5 }; // padded H, E and row
    const params = initParameters(shape, 2);
    const values = sparseRows(5, 7, 0.5, 3);
    const b = SparseEmbedKernel.create(params, shape, 7)!;
    expectRowsClose(kernelEmbed(b, shape, values), referenceForward(params, shape, values, 5), 5, 1e-5);
  });

  it('should rebuild the flat parameters from its copy', () => {
    const shape = { inputSize: 11, hiddenSize: 53, embeddingSize: 6 };
    const params = initParameters(shape, 9);
    expect(SparseEmbedKernel.create(params, shape, 5)!.parameters()).toEqual(params);
  });

  it('should reject parameters of the wrong length and a bad maxRowNnz', () => {
    const shape = { inputSize: 4, hiddenSize: 4, embeddingSize: 4 };
    const params = initParameters(shape, 1);
    expect(() => SparseEmbedKernel.create(params.subarray(1), shape, 2)).toThrow(/params must be/);
    expect(() => SparseEmbedKernel.create(params, shape, 5)).toThrow(/maxRowNnz/);
    expect(() => SparseEmbedKernel.create(params, shape, 2, { rowsPerCall: 0 })).toThrow(/rowsPerCall/);
  });
});
