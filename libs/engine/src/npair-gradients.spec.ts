import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { referenceBatchLoss } from '../test-support/reference-model';
import { initBackend } from './backend';
import { initParameters } from './init-parameters';
import { parameterLayout } from './model-shape';
import { npairGradients } from './npair-gradients';
import { uploadParameters } from './upload-parameters';

const shape = { inputSize: 7, hiddenSize: 5, embeddingSize: 3 };
const layout = parameterLayout(shape);
const n = 3;

/** Input rows: non-negative like log-normalised expression, with some zeros. */
function makeBatch(): Float32Array {
  const x = new Float32Array(2 * n * shape.inputSize);
  for (let i = 0; i < x.length; i++) x[i] = i % 4 === 0 ? 0 : Math.fround(1.5 * Math.abs(Math.sin(3.7 * i + 1)));
  return x;
}

/** Engine loss and flat gradient (W1, b1, W2, b2 layout). */
function engineGradients(params: Float32Array, x: Float32Array): { loss: number; grad: Float32Array } {
  const xt = tf.tensor2d(x, [2 * n, shape.inputSize]);
  const p = uploadParameters(params, shape);
  const { loss, grads } = npairGradients(xt, p);
  const grad = new Float32Array(layout.total);
  grad.set(grads.w1.dataSync(), layout.w1.offset);
  grad.set(grads.b1.dataSync(), layout.b1.offset);
  grad.set(grads.w2.dataSync(), layout.w2.offset);
  grad.set(grads.b2.dataSync(), layout.b2.offset);
  const value = loss.dataSync()[0];
  tf.dispose([xt, p.w1, p.b1, p.w2, p.b2, loss, grads.w1, grads.b1, grads.w2, grads.b2]);
  return { loss: value, grad };
}

afterAll(async () => {
  await initBackend('wasm');
});

describe.each(['wasm', 'cpu'] as const)('npairGradients (%s backend)', (backend) => {
  it('should agree with central finite differences of a float64 reference for every block', async () => {
    await initBackend(backend);
    // Scale the default initialisation up so the loss is far from its minimum.
    const params = initParameters(shape, 11).map((v) => Math.fround(3 * v));
    const x = makeBatch();
    const before = tf.memory().numTensors;
    const { loss, grad } = engineGradients(params, x);
    expect(tf.memory().numTensors).toBe(before);

    const p64 = Float64Array.from(params);
    const x64 = Float64Array.from(x);
    expect(loss).toBeCloseTo(referenceBatchLoss(p64, shape, x64, n), 5);

    const h = 1e-6;
    for (const name of ['w1', 'b1', 'w2', 'b2'] as const) {
      const { offset, length } = layout[name];
      let largest = 0;
      const fd = new Float64Array(length);
      for (let i = 0; i < length; i++) {
        const saved = p64[offset + i];
        p64[offset + i] = saved + h;
        const plus = referenceBatchLoss(p64, shape, x64, n);
        p64[offset + i] = saved - h;
        const minus = referenceBatchLoss(p64, shape, x64, n);
        p64[offset + i] = saved;
        fd[i] = (plus - minus) / (2 * h);
        largest = Math.max(largest, Math.abs(fd[i]));
      }
      expect(largest, `${name}: some gradient is non-zero`).toBeGreaterThan(1e-3);
      for (let i = 0; i < length; i++) {
        const engine = grad[offset + i];
        // Relative tolerance 1e-3, with an absolute floor relative to the block's scale.
        expect(Math.abs(engine - fd[i]), `${name}[${i}]: ${engine} vs ${fd[i]}`).toBeLessThanOrEqual(
          1e-3 * Math.abs(fd[i]) + 1e-5 * largest,
        );
      }
    }
  });
});

describe('npairGradients', () => {
  it('should reject a batch with an odd number of rows', async () => {
    await initBackend('wasm');
    tf.tidy(() => {
      const p = uploadParameters(initParameters(shape, 1), shape);
      expect(() => npairGradients(tf.zeros([3, 7]), p)).toThrow(/npairGradients:/);
    });
  });
});
