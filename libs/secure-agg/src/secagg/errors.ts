/**
 * The two ways a secure-aggregation round can end badly, kept apart because the caller reacts
 * differently: `RoundFailed` means "no aggregate this round, keep the previous model, carry on";
 * `ProtocolViolation` means a message or request broke the protocol and was refused.
 */

export type RoundFailure =
  /** Fewer than t institutions were online when the round started. */
  | 'too-few-participants'
  /** Fewer than t masked inputs arrived: the masks cannot be removed, nothing is revealed. */
  | 'too-few-survivors'
  /** Fewer than t survivors answered the unmask request. */
  | 'too-few-responses'
  /** The shares that arrived do not reconstruct a secret matching its commitment / public key. */
  | 'reconstruction-failed';

/**
 * The round produced no aggregate. No secret that could expose an input was reconstructed, the
 * previous model stays, and the session can run its next round (with a round number not used before).
 */
export class RoundFailed extends Error {
  constructor(
    readonly round: number,
    readonly reason: RoundFailure,
    readonly survivors: readonly string[],
    readonly threshold: number,
    detail = '',
  ) {
    super(
      `secure aggregation round ${round} failed (${reason}): ${survivors.length} institution(s) ` +
        `[${survivors.join(', ')}] against a threshold of ${threshold}${detail ? `; ${detail}` : ''}`,
    );
    this.name = 'RoundFailed';
  }
}

export type ViolationCode =
  /** A message that does not decode, or whose fields contradict each other or its envelope. */
  | 'malformed'
  /** The sender is not (or no longer) a member of the federation / participant of the round. */
  | 'not-a-member'
  /** A second message for the same slot (institution, round, phase). */
  | 'duplicate'
  /** A round number already used with these keys (masks would repeat). */
  | 'round-reused'
  /** A participant list that is not a subset of the members, lacks the sender, or is below t. */
  | 'bad-participants'
  /** A masked input for a round that is closed or already unmasking. */
  | 'late'
  /** The masked vector does not match the digest its sender signed. */
  | 'digest-mismatch'
  /** An AEAD ciphertext that does not decrypt: altered, misrouted or replayed. */
  | 'decryption-failed'
  /** An unmask request that would reveal more than the protocol allows (Bonawitz consistency). */
  | 'inconsistent-unmask'
  /** The key set-up is incomplete or inconsistent (roster, threshold, epoch, keys). */
  | 'setup';

export class ProtocolViolation extends Error {
  constructor(
    readonly code: ViolationCode,
    message: string,
  ) {
    super(`secure aggregation: ${message}`);
    this.name = 'ProtocolViolation';
  }
}
