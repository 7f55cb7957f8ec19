import { ByteReader, ByteWriter } from './bytes';
import { ProtocolViolation } from './errors';
import type { Phase, SignedEnvelope } from '../envelope';

/**
 * Transport encoding of a signed envelope (binding, payload, signature), used to count the bytes
 * an institution sends and by transports that move envelopes as bytes. What is signed is the
 * signer's business (see envelope.ts); this is only how an envelope travels.
 */

const PHASES: readonly Phase[] = [
  'advertise-keys',
  'share-keys',
  'masked-input',
  'unmask',
  'revocation',
  'landmarks',
];

export function encodeEnvelopeWire(e: SignedEnvelope): Uint8Array {
  return new ByteWriter()
    .str('envelope/v1')
    .str(e.federationId)
    .u32(e.round)
    .str(e.phase)
    .str(e.sender)
    .str(e.recipient)
    .bytes(e.payload)
    .bytes(e.signature)
    .finish();
}

export function decodeEnvelopeWire(b: Uint8Array): SignedEnvelope {
  const r = new ByteReader(b, 'envelope');
  r.tag('envelope/v1');
  const federationId = r.str();
  const round = r.u32();
  const phase = r.str() as Phase;
  if (!PHASES.includes(phase)) throw new ProtocolViolation('malformed', `envelope: unknown phase ${phase}`);
  const e: SignedEnvelope = {
    federationId,
    round,
    phase,
    sender: r.str(),
    recipient: r.str(),
    payload: r.bytes(),
    signature: r.bytes(),
  };
  r.end();
  return e;
}

/** Bytes of an envelope on the wire. */
export function envelopeWireBytes(e: SignedEnvelope): number {
  return encodeEnvelopeWire(e).length;
}
