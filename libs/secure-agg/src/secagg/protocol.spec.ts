import { describe, expect, it } from 'vitest';
import { EnvelopeRejected } from '../envelope';
import { RoundFailed } from './errors';
import { encode, quantisationBound } from './fixed-point';
import type { UnmaskRequest } from './messages';
import { modularSum } from './modular';
import { configFixedPoint } from './params';
import { SecureAggregationSession } from './session';
import { fakeEnvelopes } from './testing/fake-envelopes';
import { plainMean, syntheticInputs, worstExcess } from './testing/inputs';

const ids = (k: number) => Array.from({ length: k }, (_, i) => `inst-${i}`);

async function session(k: number, threshold?: number) {
  const names = ids(k);
  const { signers, verifier } = fakeEnvelopes(names);
  const s = await SecureAggregationSession.setup({
    federationId: 'fed-test',
    institutions: names,
    threshold,
    signers,
    verifier,
  });
  return { s, names, signers, verifier };
}

function plainSum(
  s: SecureAggregationSession,
  inputs: Map<string, Float32Array>,
  which: readonly string[],
): Uint32Array {
  return modularSum(which.map((id) => encode(inputs.get(id)!, configFixedPoint(s.config)).words));
}

describe('secure aggregation: the mean', () => {
  it.each([2, 3, 4, 5, 6, 7, 8, 9, 10])(
    'K = %i: equals the plain mean within the fixed-point bound',
    async (k) => {
      const { s, names } = await session(k);
      const inputs = syntheticInputs(names, 5003, k);
      const r = await s.aggregate(1, inputs);
      expect(r.survivors).toEqual(names);
      expect(r.dropped).toEqual([]);
      expect(r.outOfRange).toBe(0);
      // the masks cancel exactly: the sum is the modular sum of the plain encodings
      expect(r.sum).toEqual(plainSum(s, inputs, names));
      expect(
        worstExcess(r.mean, plainMean(inputs, names), quantisationBound(configFixedPoint(s.config), k)),
      ).toBeLessThanOrEqual(0);
    },
  );

  it('runs many rounds on one key set-up, with fresh masks each round', async () => {
    const { s, names } = await session(4);
    const inputs = syntheticInputs(names, 777, 3);
    const first = await s.aggregate(1, inputs);
    const sum1 = first.sum.slice();
    const second = await s.aggregate(2, inputs);
    expect(second.sum).toEqual(sum1); // same inputs, same exact sum ...
    expect(second.mean).toEqual(first.mean);
    const third = await s.aggregate(7, syntheticInputs(names, 777, 4));
    expect(third.sum).not.toEqual(sum1);
  });

  it('weights: the weighted mean of the survivors', async () => {
    const { s, names } = await session(3);
    const inputs = syntheticInputs(names, 1000, 5);
    const weights = new Map([
      [names[0], 1],
      [names[1], 0.5],
      [names[2], 0.25],
    ]);
    const r = await s.aggregate(1, inputs, { weights });
    const W = 1.75;
    const fp = configFixedPoint(s.config);
    for (let i = 0; i < 1000; i++) {
      const plain = names.reduce((acc, id) => acc + weights.get(id)! * inputs.get(id)![i], 0) / W;
      expect(Math.abs(r.mean[i] - plain)).toBeLessThanOrEqual(
        quantisationBound(fp, 3, W) + Math.abs(plain) * 2 ** -24,
      );
    }
  });

  it('reports clipped values per institution', async () => {
    const { s, names } = await session(3);
    const inputs = syntheticInputs(names, 100, 6);
    inputs.get(names[1])![10] = 9;
    inputs.get(names[1])![11] = Number.NaN;
    const r = await s.aggregate(1, inputs);
    expect(r.outOfRange).toBe(2);
    expect(r.outOfRangeBy).toEqual({ [names[0]]: 0, [names[1]]: 2, [names[2]]: 0 });
  });
});

describe('secure aggregation: dropouts (K = 5, t = 3)', () => {
  it.each([[['inst-1']], [['inst-0', 'inst-3']]])(
    '%j dropping after masking: exact sum of the survivors',
    async (drop) => {
      const { s, names } = await session(5, 3);
      const inputs = syntheticInputs(names, 4099, 7);
      const r = await s.aggregate(1, inputs, { dropAfterMasking: drop });
      const survivors = names.filter((id) => !drop.includes(id));
      expect(r.survivors).toEqual(survivors);
      expect(r.dropped).toEqual(drop);
      expect(r.sum).toEqual(plainSum(s, inputs, survivors));
      const bound = quantisationBound(configFixedPoint(s.config), survivors.length);
      expect(worstExcess(r.mean, plainMean(inputs, survivors), bound)).toBeLessThanOrEqual(0);
      // their s keys are now known to the aggregator: they are out for the rest of the federation
      expect(s.members()).toEqual(survivors);
      const next = await s.aggregate(2, syntheticInputs(names, 4099, 8));
      expect(next.survivors).toEqual(survivors);
      expect(next.excluded).toEqual(drop);
    },
  );

  it('survivors that do not answer the unmask request are tolerated down to t', async () => {
    const { s, names } = await session(5, 3);
    const inputs = syntheticInputs(names, 500, 9);
    const r = await s.aggregate(1, inputs, { dropAfterMasking: ['inst-4'], dropBeforeUnmask: ['inst-0'] });
    expect(r.survivors).toEqual(['inst-0', 'inst-1', 'inst-2', 'inst-3']);
    expect(r.sum).toEqual(plainSum(s, inputs, r.survivors));
  });

  it('three dropping: RoundFailed, nothing revealed, the federation resumes', async () => {
    const { s, names } = await session(5, 3);
    const inputs = syntheticInputs(names, 1000, 10);
    const err = await s
      .aggregate(1, inputs, { dropAfterMasking: ['inst-0', 'inst-2', 'inst-4'] })
      .catch((e) => e);
    expect(err).toBeInstanceOf(RoundFailed);
    expect(err.reason).toBe('too-few-survivors');
    expect(err.survivors).toEqual(['inst-1', 'inst-3']);
    expect(err.message).toMatch(/round 1 failed .* threshold of 3/);
    expect(s.members()).toEqual(names); // no share was asked for, nobody is excluded
    await expect(s.aggregate(1, inputs)).rejects.toMatchObject({ code: 'round-reused' }); // its masks are spent
    const r = await s.aggregate(2, inputs);
    expect(r.sum).toEqual(plainSum(s, inputs, names));
  });

  it('fewer than t online at the start: RoundFailed before anyone masks', async () => {
    const { s, names } = await session(5, 3);
    const inputs = syntheticInputs(names.slice(0, 2), 100, 11);
    await expect(s.aggregate(1, inputs)).rejects.toMatchObject({
      name: 'RoundFailed',
      reason: 'too-few-participants',
    });
    // being offline at the start is not penalised: no key was revealed
    const r = await s.aggregate(2, syntheticInputs(names.slice(0, 3), 100, 12));
    expect(r.absent).toEqual(['inst-3', 'inst-4']);
    expect(s.members()).toEqual(names);
  });

  it('when exclusions leave fewer than t members, a re-key brings everyone back', async () => {
    const { s, names } = await session(5, 3);
    const inputs = syntheticInputs(names, 100, 13);
    await s.aggregate(1, inputs, { dropAfterMasking: ['inst-3', 'inst-4'] });
    await expect(s.aggregate(2, inputs, { dropAfterMasking: ['inst-2'] })).rejects.toBeInstanceOf(
      RoundFailed,
    );
    const fresh = await s.rekey();
    expect(fresh.config.epoch).toBe(1);
    const r = await fresh.aggregate(3, inputs);
    expect(r.survivors).toEqual(names);
    expect(r.sum).toEqual(plainSum(fresh, inputs, names));
  });
});

describe('secure aggregation: refusals', () => {
  it('the aggregator refuses a tampered, replayed or foreign masked input', async () => {
    const { s, names } = await session(3);
    const participants = s.server.beginRound(1);
    const c = s.clients.get(names[0])!;
    const { masked } = await c.maskInput(1, participants, new Float32Array(100).fill(0.25));
    const payload = masked.envelope.payload.slice();
    payload[payload.length - 1] ^= 1;
    expect(() =>
      s.server.acceptMaskedInput({ ...masked, envelope: { ...masked.envelope, payload } }),
    ).toThrow(EnvelopeRejected);
    const vector = masked.vector.slice();
    vector[3] ^= 1;
    expect(() => s.server.acceptMaskedInput({ ...masked, vector })).toThrow(
      expect.objectContaining({ code: 'digest-mismatch' }),
    );
    s.server.acceptMaskedInput(masked);
    expect(() => s.server.acceptMaskedInput(masked)).toThrow(expect.objectContaining({ code: 'duplicate' }));
    // round 1's message replayed into round 2
    s.server.abortRound();
    s.server.beginRound(2);
    expect(() => s.server.acceptMaskedInput(masked)).toThrow(expect.objectContaining({ reason: 'replayed' }));
  });

  it('an institution masks each round number once', async () => {
    const { s, names } = await session(3);
    const c = s.clients.get(names[0])!;
    await c.maskInput(1, names, new Float32Array(10));
    await expect(c.maskInput(1, names, new Float32Array(10))).rejects.toMatchObject({ code: 'round-reused' });
  });

  it('a tampered unmask response is refused and the round completes from the others', async () => {
    const { s, names } = await session(5, 3);
    const inputs = syntheticInputs(names, 300, 14);
    const participants = s.server.beginRound(1);
    for (const id of participants)
      s.server.acceptMaskedInput(
        (await s.clients.get(id)!.maskInput(1, participants, inputs.get(id)!)).masked,
      );
    const requests = s.server.unmaskRequests();
    const responses = [...requests].map(([id, req]) => s.clients.get(id)!.unmask(req));
    const bad = { ...responses[2], payload: responses[2].payload.slice() };
    bad.payload[bad.payload.length - 3] ^= 0x40;
    responses[2] = bad;
    const agg = await s.server.finishRound(responses);
    expect(agg.rejected.map((r) => r.institution)).toEqual(['inst-2']);
    expect(agg.sum).toEqual(plainSum(s, inputs, names));
  });

  describe('a survivor refuses inconsistent unmask requests (Bonawitz consistency)', () => {
    async function masked(k = 5, t = 3) {
      const env = await session(k, t);
      const inputs = syntheticInputs(env.names, 64, 15);
      const participants = env.s.server.beginRound(1);
      for (const id of participants) {
        env.s.server.acceptMaskedInput(
          (await env.s.clients.get(id)!.maskInput(1, participants, inputs.get(id)!)).masked,
        );
      }
      return { ...env, requests: env.s.server.unmaskRequests() };
    }
    const violation = { name: 'ProtocolViolation', code: 'inconsistent-unmask' };

    it('refuses to reveal b-shares for an institution it was told dropped, after revealing its s-share', async () => {
      const { s, requests } = await masked();
      const v = s.clients.get('inst-0')!;
      const honest = requests.get('inst-0')!;
      // the aggregator first claims inst-4 dropped (asking for its s-share) ...
      const claimDropped: UnmaskRequest = {
        ...honest,
        survivors: ['inst-0', 'inst-1', 'inst-2', 'inst-3'],
        dropped: ['inst-4'],
        bShares: honest.bShares.filter((b) => b.peer !== 'inst-4'),
      };
      v.unmask(claimDropped);
      // ... then asks for inst-4's b-share too: both would unmask inst-4's input
      expect(() => v.unmask(honest)).toThrow(expect.objectContaining(violation));
      // the same request again gets the same answer (a retry), nothing more
      expect(v.unmask(claimDropped)).toBeDefined();
      // and inst-4 is never masked with again by this institution
      expect(v.memberView()).not.toContain('inst-4');
      await expect(v.maskInput(2, ['inst-0', 'inst-1', 'inst-4'], new Float32Array(4))).rejects.toMatchObject(
        {
          code: 'not-a-member',
        },
      );
    });

    it('refuses overlapping or incomplete survivor/dropped lists, too few survivors, or not being a survivor', async () => {
      const { s, requests } = await masked();
      const v = s.clients.get('inst-1')!;
      const r = requests.get('inst-1')!;
      const variants: Partial<UnmaskRequest>[] = [
        { survivors: r.survivors, dropped: ['inst-4'] }, // inst-4 listed as both
        { survivors: r.survivors.slice(0, 4), dropped: [] }, // inst-4 missing
        { survivors: ['inst-0', 'inst-1'], dropped: ['inst-2', 'inst-3', 'inst-4'] }, // 2 < t
        { survivors: ['inst-0', 'inst-2', 'inst-3'], dropped: ['inst-1', 'inst-4'] }, // v "dropped"
        { epoch: 5 },
        { round: 2 },
      ];
      for (const change of variants)
        expect(() => v.unmask({ ...r, ...change })).toThrow(expect.objectContaining(violation));
      expect(v.unmask(r)).toBeDefined(); // the consistent one is still answered
    });

    it('refuses a request whose b-share ciphertexts were altered or are missing', async () => {
      const { s, requests } = await masked();
      const r = requests.get('inst-2')!;
      const v = s.clients.get('inst-2')!;
      const altered = r.bShares.map((b, i) =>
        i === 0 ? { peer: b.peer, sealed: b.sealed.map((x, j) => (j === 15 ? x ^ 1 : x)) } : b,
      );
      expect(() => v.unmask({ ...r, bShares: altered })).toThrow(
        expect.objectContaining({ code: 'decryption-failed' }),
      );
      expect(() => v.unmask({ ...r, bShares: r.bShares.slice(1) })).toThrow(
        expect.objectContaining(violation),
      );
      expect(v.unmask(r)).toBeDefined();
    });

    it('refuses to unmask a round it did not send an input for', async () => {
      const { s, requests } = await masked();
      expect(() => s.clients.get('inst-0')!.unmask({ ...requests.get('inst-0')!, round: 9 })).toThrow(
        expect.objectContaining(violation),
      );
    });
  });

  it('key set-up refuses a replayed or tampered advertisement and a mismatched configuration', async () => {
    const names = ids(3);
    const { signers, verifier } = fakeEnvelopes(names);
    const a = await SecureAggregationSession.setup({
      federationId: 'fed-a',
      institutions: names,
      signers,
      verifier,
    });
    const ad = a.clients.get(names[0])!.advertiseKeys();
    // the same advertisement, replayed into another federation's set-up
    const { SecAggServer } = await import('./server');
    const { makeConfig } = await import('./params');
    const other = new SecAggServer(makeConfig({ federationId: 'fed-b', roster: names }), verifier);
    expect(() => other.collectAdvertisements([ad])).toThrow(expect.objectContaining({ reason: 'replayed' }));
    const differentThreshold = new SecAggServer(
      makeConfig({ federationId: 'fed-a', roster: names, threshold: 3 }),
      verifier,
    );
    expect(() => differentThreshold.collectAdvertisements([ad])).toThrow(
      expect.objectContaining({ code: 'setup' }),
    );
  });
});
