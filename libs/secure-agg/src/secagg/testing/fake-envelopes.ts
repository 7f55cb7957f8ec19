import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  EnvelopeRejected,
  type EnvelopeBinding,
  type EnvelopeSigner,
  type EnvelopeVerifier,
  type Party,
  type SignedEnvelope,
} from '../../envelope';
import { ByteWriter } from '../bytes';

/**
 * TEST-ONLY stand-in for the X.509 envelope signer/verifier: one HMAC-SHA256 key per party, all
 * known to the verifier. It checks exactly what the real verifier promises (sender known and not
 * revoked, signature over binding + payload, binding equal to what is expected) so the protocol
 * can be tested without depending on the PKI. Not a signature scheme: never use outside tests.
 */

function signedBytes(b: EnvelopeBinding, payload: Uint8Array): Uint8Array {
  return new ByteWriter()
    .str('fake-envelope/v1')
    .str(b.federationId)
    .u32(b.round)
    .str(b.phase)
    .str(b.sender)
    .str(b.recipient)
    .bytes(payload)
    .finish();
}

function mac(key: Uint8Array, b: EnvelopeBinding, payload: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha256', key).update(signedBytes(b, payload)).digest());
}

export class FakeEnvelopeSigner implements EnvelopeSigner {
  constructor(
    readonly party: Party,
    private readonly key: Uint8Array,
  ) {}

  sign(binding: Omit<EnvelopeBinding, 'sender'>, payload: Uint8Array): SignedEnvelope {
    const full: EnvelopeBinding = { ...binding, sender: this.party };
    return { ...full, payload, signature: mac(this.key, full, payload) };
  }
}

export class FakeEnvelopeVerifier implements EnvelopeVerifier {
  readonly revoked = new Set<Party>();

  constructor(private readonly keys: ReadonlyMap<Party, Uint8Array>) {}

  verify(
    envelope: SignedEnvelope,
    expected: Omit<EnvelopeBinding, 'sender'> & { sender?: Party },
  ): Uint8Array {
    const key = this.keys.get(envelope.sender);
    if (!key) throw new EnvelopeRejected(`unknown sender ${envelope.sender}`, 'unknown-sender');
    if (this.revoked.has(envelope.sender))
      throw new EnvelopeRejected(`${envelope.sender} is revoked`, 'revoked');
    const sig = mac(key, envelope, envelope.payload);
    if (envelope.signature.length !== sig.length || !timingSafeEqual(envelope.signature, sig)) {
      throw new EnvelopeRejected(`signature of ${envelope.sender} does not verify`, 'tampered');
    }
    if (expected.sender !== undefined && expected.sender !== envelope.sender) {
      throw new EnvelopeRejected(`expected sender ${expected.sender}, got ${envelope.sender}`, 'misdirected');
    }
    if (expected.recipient !== envelope.recipient) {
      throw new EnvelopeRejected(
        `addressed to ${envelope.recipient}, not ${expected.recipient}`,
        'misdirected',
      );
    }
    if (
      expected.federationId !== envelope.federationId ||
      expected.round !== envelope.round ||
      expected.phase !== envelope.phase
    ) {
      throw new EnvelopeRejected(
        `bound to ${envelope.federationId}/${envelope.round}/${envelope.phase}, expected ` +
          `${expected.federationId}/${expected.round}/${expected.phase}`,
        'replayed',
      );
    }
    return envelope.payload;
  }
}

/** Signers for `parties` and a verifier that knows them all. */
export function fakeEnvelopes(parties: readonly Party[]): {
  signers: Map<Party, FakeEnvelopeSigner>;
  verifier: FakeEnvelopeVerifier;
} {
  const keys = new Map(parties.map((p) => [p, new Uint8Array(randomBytes(32))]));
  return {
    signers: new Map(parties.map((p) => [p, new FakeEnvelopeSigner(p, keys.get(p)!)])),
    verifier: new FakeEnvelopeVerifier(keys),
  };
}
