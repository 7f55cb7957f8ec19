import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@fl/engine';
import { fixedPoint, quantisationBound } from '@fl/secure-agg';
import { FedAvg } from './aggregation';
import { maskUpdate } from './mask-update';
import type { InstitutionInfo, TrainResult } from './messages';
import { SecureFedAvg } from './secure-fed-avg';
import { updateClip } from './update-encoding';

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

const LR = 0.0005;
const N = 5000;
const base = Float32Array.from({ length: N }, (_, i) => Math.sin(i * 0.01) * 0.3);
/** A local model one Adam-sized step away from the base: each entry moves by at most lr. */
const trained = (k: number) => base.map((v, i) => v + Math.cos(i * (k + 1)) * LR);

describe(SecureFedAvg.name, () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('derives the update clip from the learning rate and local steps (8 lr per step)', () => {
    expect(updateClip(0.0005, 1)).toBeCloseTo(0.004, 12);
    expect(updateClip(0.001, 5)).toBeCloseTo(0.04, 12);
    expect(() => updateClip(0, 1)).toThrow(/learning rate/);
    expect(() => updateClip(0.1, 0)).toThrow(/local steps/);
  });

  it.each([16, 32, 8] as const)(
    '%i bits: base + the mean update equals plain FedAvg within the fixed-point bound',
    async (bits) => {
      const institutions = [info(0, 'a', 10), info(1, 'b.csv', 20), info(2, 'c', 5), info(3, 'd', 7)];
      const sut = await SecureFedAvg.create(institutions, 'uniform', {
        federationId: 'test',
        bits,
        learningRate: LR,
        localSteps: 1,
      });
      expect(sut.bits).toBe(bits);
      expect(sut.clip).toBeCloseTo(8 * LR, 12);
      const results = institutions.map((inst, k) => result(k, trained(k), inst.numExamples));
      const secure = base.slice();
      const plain = new Float32Array(N);
      await sut.aggregate(1, results, secure);
      await new FedAvg('uniform').aggregate(1, results, plain);
      const bound = quantisationBound(fixedPoint(4, sut.clip, bits), 4);
      let worst = 0;
      for (let i = 0; i < N; i++) worst = Math.max(worst, Math.abs(secure[i] - plain[i]) - bound);
      // each side rounds to float32 once, entries are |w| < 0.31: 2 ulps of 2^-25
      expect(worst).toBeLessThanOrEqual(2 * 2 ** -25);
      expect(sut.reports[0]).toMatchObject({ round: 1, survivors: 4, outOfRange: 0 });
      // a round's bytes each way: bits/8 per parameter (plus envelope bytes up)
      expect(sut.reports[0].bytesReceivedPerInstitution).toBe(Math.ceil((N * bits) / 32) * 4);
      expect(sut.reports[0].bytesSentPerInstitution).toBeLessThan((N * bits) / 8 + 4096);
    },
  );

  it('counts update entries beyond the clip (here 10 lr in one step) and clips them', async () => {
    const institutions = [info(0, 'a', 1), info(1, 'b', 1)];
    const sut = await SecureFedAvg.create(institutions, 'uniform', {
      federationId: 'clip',
      learningRate: LR,
      localSteps: 1,
    });
    const wild = base.slice();
    wild[3] += 10 * LR;
    wild[7] = Number.NaN;
    const out = base.slice();
    await sut.aggregate(1, [result(0, wild, 1), result(1, base, 1)], out);
    expect(sut.reports[0].outOfRange).toBe(2);
    expect(out[3] - base[3]).toBeCloseTo((8 * LR) / 2, 6); // clipped to 8 lr, averaged with 0
    expect(out[7]).toBe(base[7]); // NaN encodes as 0
  });

  it('gives the same model whatever order results arrive in, and whether they were masked where they trained', async () => {
    const institutions = [info(0, 'a', 1), info(1, 'b', 1), info(2, 'c', 1)];
    const sut = await SecureFedAvg.create(institutions, 'uniform', {
      federationId: 'order',
      learningRate: LR,
      localSteps: 1,
    });
    const a = base.slice();
    await sut.aggregate(
      1,
      [0, 1, 2].map((k) => result(k, trained(k), 1)),
      a,
    );
    const b = base.slice();
    await sut.aggregate(
      2,
      [2, 0, 1].map((k) => result(k, trained(k), 1)),
      b,
    );
    expect(Array.from(b)).toEqual(Array.from(a));
    // Round 3: plans first, masks made by each "institution" (as its thread would), then aggregate.
    const plans = await sut.planRound(3, [0, 1, 2], N);
    const c = base.slice();
    const results = [0, 1, 2].map((k) => ({
      ...result(k, trained(k), 1),
      masked: maskUpdate(trained(k), c, plans.get(k)!),
    }));
    await sut.aggregate(3, results, c);
    expect(Array.from(c)).toEqual(Array.from(a));
  });
});
