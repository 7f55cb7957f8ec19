import { describe, expect, it } from 'vitest';
import {
  checkpointEveryProblem,
  defaultCheckpointEvery,
  retentionPolicy,
  roundsToKeep,
  roundsToPrune,
  versionKind,
  type StoredVersion,
} from './retention';

const stored = (rounds: number[], pinned: number[] = []): StoredVersion[] =>
  rounds.map((round) => ({ round, pinned: pinned.includes(round) }));
const upTo = (n: number) => Array.from({ length: n + 1 }, (_, i) => i);

describe('defaultCheckpointEvery', () => {
  it.each([
    [1, 1],
    [5, 1],
    [10, 1],
    [11, 2],
    [100, 10],
    [300, 30],
    [301, 31],
  ])('%i rounds -> every %i', (rounds, k) => {
    expect(defaultCheckpointEvery(rounds)).toBe(k);
  });

  it('keeps at most 10 checkpoints besides the final model, whatever the length', () => {
    for (const rounds of [1, 7, 10, 11, 99, 300, 1001, 100_000]) {
      const policy = retentionPolicy({ rounds });
      const kept = roundsToKeep(stored(upTo(rounds)), policy, rounds);
      const checkpoints = [...kept].filter((r) => versionKind(r, policy, rounds) === 'checkpoint');
      expect(checkpoints.length, `${rounds} rounds`).toBeLessThanOrEqual(10);
      expect(kept.has(rounds)).toBe(true);
    }
  });

  it('stores 10 versions for a 300-round federation: rounds 30, 60, …, 300', () => {
    const kept = roundsToKeep(stored(upTo(300)), retentionPolicy({ rounds: 300 }), 300);
    expect([...kept].sort((a, b) => a - b)).toEqual([30, 60, 90, 120, 150, 180, 210, 240, 270, 300]);
  });
});

describe('retentionPolicy', () => {
  it('takes checkpointEvery when given, the default otherwise', () => {
    expect(retentionPolicy({ rounds: 5, checkpointEvery: 2 })).toEqual({ rounds: 5, checkpointEvery: 2 });
    expect(retentionPolicy({ rounds: 300, checkpointEvery: null })).toEqual({
      rounds: 300,
      checkpointEvery: 30,
    });
  });

  it.each([0, -1, 6, 1.5, Number.NaN])('refuses checkpointEvery %s for 5 rounds, naming the field', (k) => {
    expect(() => retentionPolicy({ rounds: 5, checkpointEvery: k })).toThrow(
      /checkpointEvery must be a whole number between 1 and rounds \(5\)/,
    );
  });

  it('refuses a federation without a usable number of rounds', () => {
    expect(() => retentionPolicy({ rounds: 0 })).toThrow(/rounds must be a whole number/);
  });

  it('accepts 1 and rounds itself as checkpointEvery', () => {
    expect(checkpointEveryProblem(1, 5)).toBeNull();
    expect(checkpointEveryProblem(5, 5)).toBeNull();
    expect(checkpointEveryProblem(6, 5)).toMatch(/between 1 and rounds \(5\), got 6/);
  });
});

describe('versionKind', () => {
  const policy = { rounds: 5, checkpointEvery: 2 };
  it('names the final model, checkpoints, the latest round and the rest', () => {
    expect([0, 1, 2, 3, 4, 5].map((r) => versionKind(r, policy, 3))).toEqual([
      'intermediate',
      'intermediate',
      'checkpoint',
      'latest',
      'checkpoint',
      'final',
    ]);
  });

  it('calls the final round final even when it is also a multiple of k', () => {
    expect(versionKind(4, { rounds: 4, checkpointEvery: 2 }, 4)).toBe('final');
  });

  it('never makes the initial model a checkpoint', () => {
    expect(versionKind(0, { rounds: 5, checkpointEvery: 1 }, 3)).toBe('intermediate');
    expect(versionKind(0, { rounds: 5, checkpointEvery: 1 }, 0)).toBe('latest');
  });
});

describe('roundsToKeep / roundsToPrune', () => {
  const policy = { rounds: 5, checkpointEvery: 2 };

  it('keeps checkpoints and the final model once a 5-round federation ends (k = 2): 2, 4, 5', () => {
    expect(roundsToPrune(stored(upTo(5)), policy, 5)).toEqual([0, 1, 3]);
    expect([...roundsToKeep(stored(upTo(5)), policy, 5)]).toEqual([2, 4, 5]);
  });

  it('keeps the latest completed round while the federation runs, and lets it go once superseded', () => {
    // Round 3 done: 3 is what the next round (and a resume) starts from.
    expect(roundsToPrune(stored([2, 3]), policy, 3)).toEqual([]);
    // Round 4 done: 3 is superseded, neither a checkpoint nor pinned.
    expect(roundsToPrune(stored([2, 3, 4]), policy, 4)).toEqual([3]);
  });

  it('keeps the initial model until round 1 is done', () => {
    expect(roundsToPrune(stored([0]), policy, 0)).toEqual([]);
    expect(roundsToPrune(stored([0, 1]), policy, 1)).toEqual([0]);
  });

  it('never prunes a pinned version', () => {
    expect(roundsToPrune(stored(upTo(5), [1, 3]), policy, 5)).toEqual([0]);
    expect(roundsToPrune(stored(upTo(5), [0, 1, 3]), policy, 5)).toEqual([]);
  });

  it('keeps a version above the last completed round (stored just before a crash; its retry overwrites it)', () => {
    expect(roundsToPrune(stored([2, 3, 4]), policy, 2)).toEqual([]);
  });

  it('keeps everything from round 1 on with k = 1', () => {
    expect(roundsToPrune(stored(upTo(5)), { rounds: 5, checkpointEvery: 1 }, 5)).toEqual([0]);
  });

  it('keeps only the final model with k = rounds', () => {
    expect(roundsToPrune(stored(upTo(5)), { rounds: 5, checkpointEvery: 5 }, 5)).toEqual([0, 1, 2, 3, 4]);
  });
});
