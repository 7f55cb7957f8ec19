import { describe, expect, it } from 'vitest';
import { FedAvg, weightedMeanInto, weightedMeanRange } from './aggregation';
import type { TrainResult } from './messages';

const result = (institution: number, params: number[], numExamples = 1): TrainResult => ({
  institution,
  params: Float32Array.from(params),
  numExamples,
  loss: 0,
  seconds: 0,
});

describe(FedAvg.name, () => {
  describe('aggregate', () => {
    it('should compute the unweighted element-wise mean', async () => {
      const sut = new FedAvg();
      const out = new Float32Array(2);
      await sut.aggregate(1, [result(0, [1, 2], 10), result(1, [3, 6], 30)], out);
      // (1+3)/2 = 2, (2+6)/2 = 4: cell counts ignored by the published default
      expect(Array.from(out)).toEqual([2, 4]);
    });

    it('should weight by cell counts when asked', async () => {
      const sut = new FedAvg('numExamples');
      const out = new Float32Array(1);
      await sut.aggregate(1, [result(0, [1], 10), result(1, [5], 30)], out);
      // (10*1 + 30*5) / 40 = 160/40 = 4
      expect(out[0]).toBe(4);
    });

    it('should give the same bits whatever order the results arrive in', async () => {
      const sut = new FedAvg();
      const rs = [result(0, [0.1, 1e-7]), result(1, [0.2, 3.3]), result(2, [0.7, -1.1])];
      const a = new Float32Array(2);
      const b = new Float32Array(2);
      await sut.aggregate(1, rs, a);
      await sut.aggregate(1, [rs[2], rs[0], rs[1]], b);
      expect(Array.from(b)).toEqual(Array.from(a));
    });

    it('should refuse a result of the wrong length', async () => {
      const sut = new FedAvg();
      await expect(
        sut.aggregate(1, [result(0, [1, 2]), result(1, [1])], new Float32Array(2)),
      ).rejects.toThrow(/institution 1 sent 1 parameters, expected 2/);
    });
  });
});

describe(weightedMeanInto.name, () => {
  it('should match the hand-computed mean for three vectors', () => {
    const out = new Float32Array(1);
    weightedMeanInto(
      [Float32Array.of(3), Float32Array.of(6), Float32Array.of(9)],
      Float64Array.of(0.5, 0.25, 0.25),
      out,
    );
    // 0.5*3 + 0.25*6 + 0.25*9 = 1.5 + 1.5 + 2.25 = 5.25
    expect(out[0]).toBe(5.25);
  });
});

describe(weightedMeanRange.name, () => {
  it('should give the same bits split into ranges as in one pass, for 1 to 6 institutions', () => {
    for (let k = 1; k <= 6; k++) {
      const vectors = Array.from({ length: k }, (_, j) =>
        Float32Array.from({ length: 101 }, (_, i) => Math.sin(i * 7 + j) * 3),
      );
      const weights = Float64Array.from({ length: k }, () => 1 / k);
      const whole = new Float32Array(101);
      weightedMeanInto(vectors, weights, whole);
      const parts = new Float32Array(101);
      weightedMeanRange(vectors, weights, parts, 0, 40);
      weightedMeanRange(vectors, weights, parts, 40, 101);
      expect(Array.from(parts)).toEqual(Array.from(whole));
      // and the unrolled branch equals the plain float64 sum, left to right
      let s = 0;
      for (let j = 0; j < k; j++) s += weights[j] * vectors[j][17];
      expect(whole[17]).toBe(Math.fround(s));
    }
  });
});
