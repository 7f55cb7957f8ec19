import { createHash } from 'node:crypto';
import type { EnvelopeBinding, Phase } from '../envelope';
import { hasLoneSurrogate, LengthPrefixedWriter } from './length-prefixed';

/**
 * The bytes an envelope signature covers. Layout (every text field length-prefixed, see
 * `LengthPrefixedWriter`):
 *
 *   text   "scprivacy/secure-agg/envelope/v1"   domain tag: a signature made for anything else
 *                                                (a revocation list, a CSR) can never pass as one
 *   text   federationId                          stops replay into another federation
 *   uint64 round                                 stops replay into another round
 *   text   phase                                 stops replay into another protocol phase
 *   text   sender                                stops a message being passed off as someone else's
 *   text   recipient                             stops redirection to another party
 *   uint64 payload length
 *   bytes  SHA-256(payload)                       32 bytes
 *
 * The payload enters through its SHA-256 rather than verbatim: a masked-input payload is tens of
 * MB, and hashing it in place with Node's native SHA-256 (~30-40 ms for 40 MB, see
 * `envelope-signature.ts`) avoids copying it into one large buffer just to sign it.
 */
export const ENVELOPE_ENCODING_TAG = 'scprivacy/secure-agg/envelope/v1';

/** Every protocol phase; the compile-time check below keeps the list equal to the `Phase` type. */
export const PHASES = [
  'advertise-keys',
  'share-keys',
  'masked-input',
  'unmask',
  'revocation',
  'landmarks',
] as const;
type MissingPhase = Exclude<Phase, (typeof PHASES)[number]>;
const _allPhasesListed: [MissingPhase] extends [never] ? true : never = true;

/** SHA-256 of a payload, with Node's native implementation (forge's is ~30x slower, see docs). */
export function payloadDigest(payload: Uint8Array): Buffer {
  return createHash('sha256').update(payload).digest();
}

/** Why a binding cannot be encoded, or undefined when it can. */
export function bindingProblem(binding: EnvelopeBinding): string | undefined {
  for (const field of ['federationId', 'sender', 'recipient', 'phase'] as const) {
    const value: unknown = binding[field];
    if (typeof value !== 'string' || value.length === 0) return `${field} must be a non-empty string`;
    if (hasLoneSurrogate(value)) return `${field} ${JSON.stringify(value)} is not valid Unicode`;
  }
  if (!(PHASES as readonly string[]).includes(binding.phase)) return `unknown phase "${binding.phase}"`;
  if (!Number.isSafeInteger(binding.round) || binding.round < 0) {
    return `round must be a non-negative integer, not ${String(binding.round)}`;
  }
  return undefined;
}

/** The canonical bytes of (binding, payload). Throws RangeError for a binding that cannot be encoded. */
export function encodeEnvelope(binding: EnvelopeBinding, payload: Uint8Array): Buffer {
  const problem = bindingProblem(binding);
  if (problem) throw new RangeError(`invalid envelope binding: ${problem}`);
  if (!(payload instanceof Uint8Array))
    throw new RangeError('invalid envelope: payload must be a Uint8Array');
  return new LengthPrefixedWriter()
    .text(ENVELOPE_ENCODING_TAG)
    .text(binding.federationId)
    .uint64(binding.round)
    .text(binding.phase)
    .text(binding.sender)
    .text(binding.recipient)
    .uint64(payload.byteLength)
    .bytes(payloadDigest(payload))
    .finish();
}
