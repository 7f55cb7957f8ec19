import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@fl/engine';
import { FedAvg } from './aggregation';
import type { InstitutionInfo, TrainResult } from './messages';
import { SecureFedAvg } from './secure-fed-avg';

const info = (index: number, name: string, numExamples: number): InstitutionInfo => ({
  index,
  name,
  numExamples,
  types: ['a'],
  typeCounts: [numExamples],
});

const result = (institution: number, params: Float32Array, numExamples: number): TrainResult => ({
  institution,
  params,
  numExamples,
  loss: 0,
  seconds: 0,
});

describe(SecureFedAvg.name, () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  describe('aggregate', () => {
    it('should equal the plain mean within the fixed-point bound for 4 institutions', async () => {
      const institutions = [info(0, 'a', 10), info(1, 'b.csv', 20), info(2, 'c', 5), info(3, 'd', 7)];
      const sut = await SecureFedAvg.create(institutions, 'uniform', { federationId: 'test' });
      const vectors = institutions.map((_, k) =>
        Float32Array.from({ length: 5000 }, (_, i) => Math.sin(i * (k + 1)) * 0.3),
      );
      const results = vectors.map((v, k) => result(k, v, institutions[k].numExamples));
      const secure = new Float32Array(5000);
      const plain = new Float32Array(5000);
      await sut.aggregate(1, results, secure);
      await new FedAvg('uniform').aggregate(1, results, plain);
      let worst = 0;
      for (let i = 0; i < 5000; i++) worst = Math.max(worst, Math.abs(secure[i] - plain[i]));
      // clip 8, modulus 2^32 shared by 4 inputs: one quantisation step is 2 * 8 * 4 / 2^32 ~ 1.5e-8
      expect(worst).toBeLessThan(1e-7);
      expect(worst).toBeGreaterThan(0); // it really went through fixed point
      expect(sut.reports[0]).toMatchObject({ round: 1, survivors: 4, outOfRange: 0 });
    });

    it('should give the same mean whatever order results arrive in', async () => {
      const institutions = [info(0, 'a', 1), info(1, 'b', 1), info(2, 'c', 1)];
      const sut = await SecureFedAvg.create(institutions, 'uniform', { federationId: 'order' });
      const vectors = institutions.map((_, k) =>
        Float32Array.from({ length: 100 }, (_, i) => Math.cos(i + k) / 3),
      );
      const a = new Float32Array(100);
      const b = new Float32Array(100);
      await sut.aggregate(
        1,
        vectors.map((v, k) => result(k, v, 1)),
        a,
      );
      await sut.aggregate(
        2,
        [2, 0, 1].map((k) => result(k, vectors[k], 1)),
        b,
      );
      expect(Array.from(b)).toEqual(Array.from(a));
    });
  });
});
