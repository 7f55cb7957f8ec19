import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { referenceNpairLoss } from '../test-support/reference-model';
import { initBackend } from './backend';
import { npairBatchLoss, npairLoss } from './npair-loss';

beforeAll(async () => {
  await initBackend('wasm');
});

const lossOf = (a: number[][], p: number[][]) =>
  tf.tidy(() => npairLoss(tf.tensor2d(a), tf.tensor2d(p)).dataSync()[0]);

describe('npairLoss', () => {
  it('should match the hand-derived value for n = 2, E = 2', () => {
    // A = [[1,0],[0,1]], P = [[1,0],[0,2]]  =>  S = A P^T = [[1,0],[0,2]].
    // Row 0: log(1 + exp(S01 - S00)) = log(1 + e^-1); row 1: log(1 + exp(S10 - S11)) = log(1 + e^-2).
    // Norms: (|a0|^2 + |p0|^2) = 1 + 1 = 2, (|a1|^2 + |p1|^2) = 1 + 4 = 5.
    const expected = (Math.log(1 + Math.exp(-1)) + Math.log(1 + Math.exp(-2))) / 2 + (0.05 * (2 + 5)) / 2;
    expect(
      lossOf(
        [
          [1, 0],
          [0, 1],
        ],
        [
          [1, 0],
          [0, 2],
        ],
      ),
    ).toBeCloseTo(expected, 6);
  });

  it('should match the hand-derived value for n = 3, E = 2', () => {
    // A = [[1,1],[2,0],[0,-1]], P = [[1,0],[0,1],[1,1]]  =>  S = [[1,1,2],[2,0,2],[0,-1,-1]].
    // Row 0 (S00 = 1):  log(1 + e^(1-1) + e^(2-1))   = log(2 + e)
    // Row 1 (S11 = 0):  log(1 + e^(2-0) + e^(2-0))   = log(1 + 2 e^2)
    // Row 2 (S22 = -1): log(1 + e^(0+1) + e^(-1+1))  = log(2 + e)
    // Norms: |A|^2 = 2 + 4 + 1 = 7, |P|^2 = 1 + 1 + 2 = 4.
    const a = [
      [1, 1],
      [2, 0],
      [0, -1],
    ];
    const p = [
      [1, 0],
      [0, 1],
      [1, 1],
    ];
    const expected = (2 * Math.log(2 + Math.E) + Math.log(1 + 2 * Math.E ** 2)) / 3 + (0.05 * (7 + 4)) / 3;
    expect(lossOf(a, p)).toBeCloseTo(expected, 6);
    expect(referenceNpairLoss(a.flat(), p.flat(), 3, 2)).toBeCloseTo(expected, 12);
  });

  it('should reduce to the norm penalty for n = 1 (log(1) = 0)', () => {
    // 0.05 * (|a|^2 + |p|^2) = 0.05 * ((9 + 16) + (1 + 4))
    expect(lossOf([[3, 4]], [[1, 2]])).toBeCloseTo(0.05 * (25 + 5), 6);
  });

  it('should stay finite and exact for large logits', () => {
    // A = [[100,0],[0,100]], P = [[100,0],[0,-100]]  =>  S = [[1e4, 0], [0, -1e4]].
    // Row 0: log(1 + e^(0 - 1e4)) = 0 (to float precision); row 1: log(1 + e^(0 + 1e4)) = 1e4.
    // Norms: |A|^2 + |P|^2 = 2e4 + 2e4.
    const loss = lossOf(
      [
        [100, 0],
        [0, 100],
      ],
      [
        [100, 0],
        [0, -100],
      ],
    );
    expect(Number.isFinite(loss)).toBe(true);
    expect(loss).toBeCloseTo((0 + 1e4) / 2 + (0.05 * 4e4) / 2, 2);
  });

  it('should have the analytic gradient of the reference loss (central differences)', () => {
    const n = 3;
    const e = 4;
    const a = Array.from({ length: n * e }, (_, i) => Math.sin(i + 1));
    const p = Array.from({ length: n * e }, (_, i) => Math.cos(2 * i + 1));
    const [ga, gp] = tf.tidy(() =>
      tf
        .grads((x: tf.Tensor, y: tf.Tensor) => npairLoss(x as tf.Tensor2D, y as tf.Tensor2D))([
          tf.tensor2d(a, [n, e]),
          tf.tensor2d(p, [n, e]),
        ])
        .map((g) => g.dataSync()),
    );
    const h = 1e-6;
    const fd = (values: number[], i: number, lossAt: (v: number[]) => number) => {
      const plus = values.slice();
      const minus = values.slice();
      plus[i] += h;
      minus[i] -= h;
      return (lossAt(plus) - lossAt(minus)) / (2 * h);
    };
    for (let i = 0; i < n * e; i++) {
      expect(ga[i]).toBeCloseTo(
        fd(a, i, (v) => referenceNpairLoss(v, p, n, e)),
        4,
      );
      expect(gp[i]).toBeCloseTo(
        fd(p, i, (v) => referenceNpairLoss(a, v, n, e)),
        4,
      );
    }
  });

  it('should reject mismatched shapes, naming the function', () => {
    tf.tidy(() => {
      expect(() => npairLoss(tf.zeros([2, 3]), tf.zeros([3, 3]))).toThrow(/npairLoss:/);
    });
  });
});

describe('npairBatchLoss', () => {
  it('should equal npairLoss of the two halves', () => {
    const a = [
      [1, 1],
      [2, 0],
      [0, -1],
    ];
    const p = [
      [1, 0],
      [0, 1],
      [1, 1],
    ];
    const stacked = tf.tidy(() => npairBatchLoss(tf.tensor2d([...a, ...p])).dataSync()[0]);
    expect(stacked).toBeCloseTo(lossOf(a, p), 6);
  });

  it('should reject an odd number of rows', () => {
    tf.tidy(() => {
      expect(() => npairBatchLoss(tf.zeros([3, 2]))).toThrow(/npairBatchLoss:/);
    });
  });
});
