import { describe, expect, it } from 'vitest';
import { quantisationBound } from './fixed-point';
import { configFixedPoint } from './params';
import { SecureAggregationSession } from './session';
import { fakeEnvelopes } from './testing/fake-envelopes';
import { plainMean, syntheticInputs, worstExcess } from './testing/inputs';

/** The model sizes of the real federation (5-14 M parameters): exactness must hold at scale. */
describe('secure aggregation of 10 million parameters', () => {
  it.each([2, 10])(
    'K = %i: the secure mean equals the plain mean within the fixed-point bound',
    async (k) => {
      const n = 10_000_000;
      const names = Array.from({ length: k }, (_, i) => `inst-${i}`);
      const { signers, verifier } = fakeEnvelopes(names);
      const s = await SecureAggregationSession.setup({
        federationId: 'fed-large',
        institutions: names,
        signers,
        verifier,
      });
      const inputs = syntheticInputs(names, n, 100 + k);
      const r = await s.aggregate(1, inputs);
      expect(r.mean).toHaveLength(n);
      expect(r.outOfRange).toBe(0);
      const bound = quantisationBound(configFixedPoint(s.config), k);
      expect(worstExcess(r.mean, plainMean(inputs, names), bound)).toBeLessThanOrEqual(0);
      console.log(
        `K=${k}, N=${n}: masking ${r.timings.maskingMsMean.toFixed(0)} ms/institution, ` +
          `aggregator ${(r.timings.serverCollectMs + r.timings.serverUnmaskMs).toFixed(0)} ms, ` +
          `${(r.bytesSentPerInstitution / 1e6).toFixed(2)} MB sent/institution`,
      );
    },
    60_000,
  );
});
