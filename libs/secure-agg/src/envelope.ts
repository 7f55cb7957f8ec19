/**
 * Every secure-aggregation message travels in a signed envelope bound to where it belongs:
 * (federation, round, phase, sender, recipient). A message replayed into another round or
 * federation, sent to someone else, or altered by one bit fails verification.
 */

/**
 * The protocol's phases (Bonawitz et al. 2017, with a per-federation key set-up), plus the
 * landmarks an institution publishes after the last round.
 */
export type Phase = 'advertise-keys' | 'share-keys' | 'masked-input' | 'unmask' | 'revocation' | 'landmarks';

/** Who a message is for: one institution, or the aggregator (`'server'`), or everyone (`'*'`). */
export type Party = string;

export interface EnvelopeBinding {
  federationId: string;
  /** Round number; key set-up messages use 0. */
  round: number;
  phase: Phase;
  sender: Party;
  recipient: Party;
}

export interface SignedEnvelope<T = Uint8Array> extends EnvelopeBinding {
  /** The message body, canonical bytes (the protocol encodes its own messages). */
  payload: T;
  /** Signature over the canonical encoding of binding + payload, by the sender's certified key. */
  signature: Uint8Array;
}

/** Signs as one institution (its private key never leaves it). */
export interface EnvelopeSigner {
  readonly party: Party;
  sign(binding: Omit<EnvelopeBinding, 'sender'>, payload: Uint8Array): SignedEnvelope;
}

/**
 * Checks an envelope: the sender's certificate chains to the consortium root, is within its
 * validity period and not revoked; the signature verifies; the binding equals `expected`.
 * Throws `EnvelopeRejected` with a clear reason otherwise.
 */
export interface EnvelopeVerifier {
  verify(
    envelope: SignedEnvelope,
    expected: Omit<EnvelopeBinding, 'sender'> & { sender?: Party },
  ): Uint8Array;
}

export class EnvelopeRejected extends Error {
  constructor(
    message: string,
    readonly reason:
      'tampered' | 'replayed' | 'misdirected' | 'unknown-sender' | 'revoked' | 'expired' | 'bad-chain',
  ) {
    super(message);
    this.name = 'EnvelopeRejected';
  }
}
