import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { initBackend } from './backend';
import { readTensorInto } from './read-tensor-into';

describe.each(['wasm', 'cpu'] as const)('readTensorInto (%s backend)', (backend) => {
  it('should copy values at an offset without touching the rest', async () => {
    await initBackend(backend);
    const t = tf.tensor2d([1, 2, 3, 4], [2, 2]);
    const out = Float32Array.from([9, 9, 9, 9, 9, 9]);
    readTensorInto(t, out, 1);
    t.dispose();
    expect([...out]).toEqual([9, 1, 2, 3, 4, 9]);
  });

  it('should refuse values that do not fit', async () => {
    await initBackend(backend);
    const t = tf.tensor1d([1, 2, 3]);
    expect(() => readTensorInto(t, new Float32Array(3), 1)).toThrow(/readTensorInto:/);
    t.dispose();
  });
});
