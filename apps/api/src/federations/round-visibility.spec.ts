import { describe, expect, it } from 'vitest';
import type { Principal } from '../auth/principal';
import {
  institutionValuesViewer,
  meanLoss,
  visibleLandmarkSets,
  visibleRound,
  type InstitutionValuesViewer,
} from './round-visibility';

const member: Principal = {
  kind: 'member',
  consortiumId: 'c',
  tokenId: 't',
  institutionId: 'i',
  institutionName: 'clinic-a',
};
const admin: Principal = { kind: 'admin', consortiumId: 'c', tokenId: 't' };
const own: InstitutionValuesViewer = { sees: 'own', institution: 'clinic-a' };

const round = {
  number: 3,
  survivors: ['clinic-a', 'clinic-b'],
  losses: { 'clinic-a': 0.5, 'clinic-b': 1.5 },
  timings: {
    waitMs: 12,
    totalMs: 30,
    institutions: {
      'clinic-a': { trainMs: 5, backend: 'wasm' },
      'clinic-b': { trainMs: 7, backend: 'cpu' },
    },
  },
};

describe('round visibility', () => {
  it('lets admins, the operator and members of an open consortium see every institution', () => {
    expect(institutionValuesViewer(admin, false)).toEqual({ sees: 'all' });
    expect(institutionValuesViewer({ kind: 'operator' }, false)).toEqual({ sees: 'all' });
    expect(institutionValuesViewer(member, true)).toEqual({ sees: 'all' });
    expect(institutionValuesViewer(member, false)).toEqual(own);
  });

  it("keeps only the member's own loss and timings, and the round-level timings", () => {
    expect(visibleRound(round, own)).toEqual({
      number: 3,
      survivors: ['clinic-a', 'clinic-b'],
      losses: { 'clinic-a': 0.5 },
      timings: { waitMs: 12, totalMs: 30, institutions: { 'clinic-a': { trainMs: 5, backend: 'wasm' } } },
    });
    expect(visibleRound(round, { sees: 'all' })).toBe(round);
    // The input row is not changed.
    expect(Object.keys(round.timings.institutions)).toEqual(['clinic-a', 'clinic-b']);
  });

  it('shows a member nothing of a round it did not answer, nor of values that are not objects', () => {
    const other: InstitutionValuesViewer = { sees: 'own', institution: 'clinic-c' };
    expect(visibleRound(round, other)).toMatchObject({
      losses: {},
      timings: { waitMs: 12, institutions: {} },
    });
    expect(visibleRound({ losses: [0.5], timings: 'odd' }, own)).toEqual({ losses: {}, timings: {} });
    expect(visibleRound({ losses: {}, timings: {} }, own)).toEqual({ losses: {}, timings: {} });
  });

  it('means every institution loss, before any filtering', () => {
    expect(meanLoss(round.losses)).toBe(1);
    expect(meanLoss({})).toBeNull();
    expect(meanLoss(null)).toBeNull();
    expect(meanLoss({ a: 1, b: 'x', c: 3 })).toBe(2);
  });

  it("keeps a member's own and merged landmark sets", () => {
    const sets = [{ institution: 'clinic-b' }, { institution: 'clinic-a' }, { institution: '*' }];
    expect(visibleLandmarkSets(sets, own)).toEqual([{ institution: 'clinic-a' }, { institution: '*' }]);
    expect(visibleLandmarkSets(sets, { sees: 'all' })).toBe(sets);
  });
});
