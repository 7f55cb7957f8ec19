import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './backend';
import { columnChunks } from './column-chunks';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('columnChunks', () => {
  // 2 x 5, row-major.
  const values = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

  it('should split the columns at the bounds', () => {
    const chunks = columnChunks(values, 2, 5, Int32Array.from([0, 2, 5]), new Float32Array(10));
    expect(chunks.map((c) => c.shape)).toEqual([
      [2, 2],
      [2, 3],
    ]);
    expect([...chunks[0].dataSync()]).toEqual([1, 2, 6, 7]);
    expect([...chunks[1].dataSync()]).toEqual([3, 4, 5, 8, 9, 10]);
    tf.dispose(chunks);
  });

  it('should upload the whole matrix for a single chunk', () => {
    const [only] = columnChunks(values, 2, 5, Int32Array.from([0, 5]));
    expect([...only.dataSync()]).toEqual([...values]);
    only.dispose();
  });

  it('should reject bounds that do not cover the columns', () => {
    expect(() => columnChunks(values, 2, 5, Int32Array.from([0, 4]))).toThrow(/columnChunks:/);
  });
});
