import { describe, expect, it } from 'vitest';
import { encode } from './fixed-point';
import { modularSum } from './modular';
import { configFixedPoint, makeConfig, maskNeighbours } from './params';
import { SecureAggregationSession } from './session';
import { fakeEnvelopes } from './testing/fake-envelopes';
import { syntheticInputs } from './testing/inputs';

const names = Array.from({ length: 10 }, (_, i) => `inst-${i}`);

describe('SecAgg+ neighbour graph (maskDegree)', () => {
  it('is a symmetric ring of degree d on the round participants; complete when d >= n - 1', () => {
    const c = makeConfig({ federationId: 'f', roster: names, maskDegree: 4 });
    const parts = names.filter((id) => id !== 'inst-3');
    for (const u of parts) {
      const nu = maskNeighbours(c, parts, u);
      expect(nu).toHaveLength(4);
      for (const v of nu) expect(maskNeighbours(c, parts, v)).toContain(u);
    }
    expect(maskNeighbours(c, parts, 'inst-0')).toEqual(['inst-1', 'inst-2', 'inst-8', 'inst-9']);
    expect(maskNeighbours(c, names.slice(0, 5), 'inst-0')).toEqual(['inst-1', 'inst-2', 'inst-3', 'inst-4']);
    expect(makeConfig({ federationId: 'f', roster: names }).maskDegree).toBe(9);
    expect(() => makeConfig({ federationId: 'f', roster: names, maskDegree: 3 })).toThrow(/even/);
  });

  it('still gives the exact sum, with and without dropouts, at a third of the mask streams', async () => {
    const { signers, verifier } = fakeEnvelopes(names);
    const s = await SecureAggregationSession.setup({
      federationId: 'fed-sparse',
      institutions: names,
      signers,
      verifier,
      maskDegree: 2,
    });
    const inputs = syntheticInputs(names, 3001, 21);
    const fp = configFixedPoint(s.config);
    const sumOf = (which: string[]) => modularSum(which.map((id) => encode(inputs.get(id)!, fp).words));
    const full = await s.aggregate(1, inputs);
    expect(full.sum).toEqual(sumOf(names));
    expect(full.streamsRemoved).toBe(10); // self masks only
    const drop = ['inst-4', 'inst-5']; // neighbours of each other: their common mask is in nobody's input
    const r = await s.aggregate(2, inputs, { dropAfterMasking: drop });
    const survivors = names.filter((id) => !drop.includes(id));
    expect(r.sum).toEqual(sumOf(survivors));
    // 8 self masks + one pair mask per dropped institution: inst-3 for inst-4, inst-6 for inst-5
    expect(r.streamsRemoved).toBe(8 + 2);
  });
});

describe("vectorDigest 'none' (in-process runs)", () => {
  it('aggregates exactly and still refuses a tampered header', async () => {
    const few = names.slice(0, 3);
    const { signers, verifier } = fakeEnvelopes(few);
    const s = await SecureAggregationSession.setup({
      federationId: 'fed-nodigest',
      institutions: few,
      signers,
      verifier,
      vectorDigest: 'none',
    });
    const inputs = syntheticInputs(few, 500, 22);
    const r = await s.aggregate(1, inputs);
    expect(r.sum).toEqual(
      modularSum(few.map((id) => encode(inputs.get(id)!, configFixedPoint(s.config)).words)),
    );
    const participants = s.server.beginRound(2);
    const { masked } = await s.clients.get(few[0])!.maskInput(2, participants, inputs.get(few[0])!);
    const payload = masked.envelope.payload.slice();
    payload[10] ^= 1;
    expect(() =>
      s.server.acceptMaskedInput({ ...masked, envelope: { ...masked.envelope, payload } }),
    ).toThrow(/does not verify/);
  });
});
