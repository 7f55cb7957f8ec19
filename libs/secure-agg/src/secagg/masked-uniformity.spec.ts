import { describe, expect, it } from 'vitest';
import { encode } from './fixed-point';
import { configFixedPoint } from './params';
import { SecureAggregationSession } from './session';
import { fakeEnvelopes } from './testing/fake-envelopes';
import { seededRandom } from './testing/seeded-random';
import { byteUniformity, pearson } from './testing/stats';

/**
 * What the aggregator sees of one institution: its masked vector. It must look uniform and carry
 * no linear trace of the parameters. Keys come from a seeded generator so the verdict is the same
 * every run (a random-key test at p > 0.001 would fail once in a thousand runs by design).
 */
describe('a masked vector as the aggregator sees it', () => {
  it('is indistinguishable from uniform bytes and uncorrelated with the plaintext (1 M parameters)', async () => {
    const names = ['hospital-a', 'hospital-b', 'lab-c'];
    const { signers, verifier } = fakeEnvelopes(names);
    const s = await SecureAggregationSession.setup({
      federationId: 'fed-uniformity',
      institutions: names,
      signers,
      verifier,
      random: seededRandom('masked-uniformity-v1'),
    });
    const n = 1_000_000;
    // Very structured parameters: small, smooth, many exact zeros, a few large values.
    const x = Float32Array.from({ length: n }, (_, i) =>
      i % 10 === 0 ? 0 : 0.05 * Math.sin(i / 1000) + (i % 977 === 0 ? 0.9 : 0.001 * (i % 7)),
    );
    const plain = encode(x, configFixedPoint(s.config)).words;
    const participants = s.server.beginRound(1);
    const { masked } = await s.clients.get('hospital-b')!.maskInput(1, participants, x);
    const y = masked.vector;

    // Control: the plaintext encoding is glaringly non-uniform, so the test has power.
    const control = byteUniformity(new Uint8Array(plain.buffer));
    expect(control.p).toBeLessThan(1e-100);

    const all = byteUniformity(new Uint8Array(y.buffer, y.byteOffset, y.byteLength));
    expect(all.p).toBeGreaterThan(0.001);
    // each byte position of the words separately (the low byte of a sum could be biased alone)
    const bytes = new Uint8Array(y.buffer, y.byteOffset, y.byteLength);
    for (let lane = 0; lane < 4; lane++) {
      const laneBytes = Uint8Array.from({ length: n }, (_, i) => bytes[4 * i + lane]);
      expect(byteUniformity(laneBytes).p).toBeGreaterThan(0.001);
    }

    const signedPlain = new Int32Array(plain.buffer);
    expect(Math.abs(pearson(y, signedPlain))).toBeLessThan(0.01);
    expect(Math.abs(pearson(y, x))).toBeLessThan(0.01);
    expect(Math.abs(pearson(new Int32Array(y.buffer), signedPlain))).toBeLessThan(0.01);
  });
});
