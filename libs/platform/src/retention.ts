/**
 * Which model versions of a federation stay stored (docs/platform.md, "Model versions"). A
 * version is a full float32 copy of the model (about 20 MB for the published shape), so a
 * 300-round federation that kept every round would store 300 of them. Kept are:
 *
 * - the final model (round `rounds`): the one that gets landmarks and can be exported;
 * - a checkpoint every `checkpointEvery` rounds (rounds k, 2k, …; round 0, the initial model,
 *   is rebuilt from the seed and is not one);
 * - the latest completed round while the federation runs: the next round and a resume start
 *   from it, and a user can pin it;
 * - every version a user pinned.
 *
 * Pure functions only: the driver (model-retention.ts) and the api apply them.
 */

export interface RetentionPolicy {
  /** The federation's number of rounds; its last round is the final model. */
  rounds: number;
  /** Keep every k-th round. */
  checkpointEvery: number;
}

/** Checkpoints at most this many versions (plus the final one) when not chosen. */
export const DEFAULT_CHECKPOINTS = 10;

/** The default k: ceil(rounds / 10), so 300 rounds keep rounds 30, 60, …, 300. */
export function defaultCheckpointEvery(rounds: number): number {
  return Math.max(1, Math.ceil(rounds / DEFAULT_CHECKPOINTS));
}

/** Why a checkpointEvery is not usable, or null when it is (a whole number in 1..rounds). */
export function checkpointEveryProblem(checkpointEvery: number, rounds: number): string | null {
  if (Number.isInteger(checkpointEvery) && checkpointEvery >= 1 && checkpointEvery <= rounds) return null;
  return `must be a whole number between 1 and rounds (${rounds}), got ${checkpointEvery}`;
}

/**
 * The policy of a federation's options (`checkpointEvery` absent: the default). Throws a
 * RangeError naming the field when the stored value is unusable.
 */
export function retentionPolicy(options: {
  rounds: number;
  checkpointEvery?: number | null;
}): RetentionPolicy {
  const { rounds } = options;
  if (!Number.isInteger(rounds) || rounds < 1) {
    throw new RangeError(`rounds must be a whole number of at least 1, got ${rounds}`);
  }
  const checkpointEvery = options.checkpointEvery ?? defaultCheckpointEvery(rounds);
  const problem = checkpointEveryProblem(checkpointEvery, rounds);
  if (problem) throw new RangeError(`checkpointEvery ${problem}`);
  return { rounds, checkpointEvery };
}

/**
 * What a version is to the policy: the final model, a checkpoint, the latest completed round
 * (kept only until the next round completes), or an intermediate one (kept only while pinned,
 * or stored before retention existed).
 */
export type VersionKind = 'final' | 'checkpoint' | 'latest' | 'intermediate';

export function versionKind(round: number, policy: RetentionPolicy, currentRound: number): VersionKind {
  if (round === policy.rounds) return 'final';
  if (round >= 1 && round % policy.checkpointEvery === 0) return 'checkpoint';
  if (round === currentRound) return 'latest';
  return 'intermediate';
}

export interface StoredVersion {
  round: number;
  pinned: boolean;
}

/**
 * The rounds among `stored` to keep, given the last completed round. Versions above it are kept
 * too: a round whose model was stored just before a crash, which its retry overwrites.
 */
export function roundsToKeep(
  stored: readonly StoredVersion[],
  policy: RetentionPolicy,
  currentRound: number,
): Set<number> {
  return new Set(
    stored
      .filter(
        (v) =>
          v.pinned || v.round > currentRound || versionKind(v.round, policy, currentRound) !== 'intermediate',
      )
      .map((v) => v.round),
  );
}

/** The rounds among `stored` that the policy lets go, oldest first. */
export function roundsToPrune(
  stored: readonly StoredVersion[],
  policy: RetentionPolicy,
  currentRound: number,
): number[] {
  const keep = roundsToKeep(stored, policy, currentRound);
  return stored
    .map((v) => v.round)
    .filter((round) => !keep.has(round))
    .sort((a, b) => a - b);
}
