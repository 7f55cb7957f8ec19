import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { referenceBatchLoss } from '../test-support/reference-model';
import { initBackend } from './backend';
import { columnChunks } from './column-chunks';
import { initParameters } from './init-parameters';
import { parameterLayout } from './model-shape';
import { npairGradients } from './npair-gradients';
import { disposeModelTensors, uploadWithW1Rows } from './upload-parameters';

const shape = { inputSize: 7, hiddenSize: 5, embeddingSize: 3 };
const layout = parameterLayout(shape);
const n = 3;

/** Input rows: non-negative like log-normalised expression, with some zeros. */
function makeBatch(): Float32Array {
  const x = new Float32Array(2 * n * shape.inputSize);
  for (let i = 0; i < x.length; i++)
    x[i] = i % 4 === 0 ? 0 : Math.fround(1.5 * Math.abs(Math.sin(3.7 * i + 1)));
  return x;
}

/** Engine loss and flat gradient (W1, b1, W2, b2 layout), the genes cut at `bounds`. */
function engineGradients(params: Float32Array, x: Float32Array, bounds: Int32Array) {
  const { inputSize: f, hiddenSize: h } = shape;
  const xChunks = columnChunks(x, 2 * n, f, bounds);
  const p = uploadWithW1Rows(params, shape, params.subarray(0, f * h), bounds);
  const { loss, grads } = npairGradients(xChunks, p);
  const grad = new Float32Array(layout.total);
  grads.w1.forEach((chunk, c) => grad.set(chunk.dataSync(), bounds[c] * h));
  grad.set(grads.b1.dataSync(), layout.b1.offset);
  grad.set(grads.w2.dataSync(), layout.w2.offset);
  grad.set(grads.b2.dataSync(), layout.b2.offset);
  const value = loss.dataSync()[0];
  tf.dispose([...xChunks, loss]);
  disposeModelTensors(p);
  disposeModelTensors(grads);
  return { loss: value, grad };
}

afterAll(async () => {
  await initBackend('wasm');
});

describe.each([
  ['wasm', [0, 7]],
  ['wasm', [0, 3, 5, 7]],
  ['cpu', [0, 7]],
  ['cpu', [0, 2, 7]],
] as const)('npairGradients (%s backend, gene chunks at %j)', (backend, cuts) => {
  it('should agree with central finite differences of a float64 reference for every block', async () => {
    await initBackend(backend);
    // Scale the default initialisation up so the loss is far from its minimum.
    const params = initParameters(shape, 11).map((v) => Math.fround(3 * v));
    const x = makeBatch();
    const before = tf.memory().numTensors;
    const { loss, grad } = engineGradients(params, x, Int32Array.from(cuts));
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
      const params = initParameters(shape, 1);
      const p = uploadWithW1Rows(params, shape, params.subarray(0, 35), Int32Array.from([0, 7]));
      expect(() => npairGradients([tf.zeros([3, 7]) as tf.Tensor2D], p)).toThrow(/npairGradients:/);
    });
  });
});
