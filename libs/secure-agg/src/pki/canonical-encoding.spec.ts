import { describe, expect, it } from 'vitest';
import type { EnvelopeBinding } from '../envelope';
import { ENVELOPE_ENCODING_TAG, bindingProblem, encodeEnvelope, payloadDigest } from './canonical-encoding';

const binding: EnvelopeBinding = {
  federationId: 'fed-1',
  round: 3,
  phase: 'masked-input',
  sender: 'hospital-a',
  recipient: 'server',
};
const payload = new Uint8Array([1, 2, 3, 4]);

describe(encodeEnvelope.name, () => {
  it('should give the same bytes for the same binding and payload, whatever the key order', () => {
    const reordered: EnvelopeBinding = {
      recipient: 'server',
      sender: 'hospital-a',
      phase: 'masked-input',
      round: 3,
      federationId: 'fed-1',
    };
    expect(encodeEnvelope(reordered, payload).equals(encodeEnvelope(binding, payload))).toBe(true);
  });

  it('should start with the length-prefixed domain tag', () => {
    const bytes = encodeEnvelope(binding, payload);
    expect(bytes.readUInt32BE(0)).toBe(ENVELOPE_ENCODING_TAG.length);
    expect(bytes.subarray(4, 4 + ENVELOPE_ENCODING_TAG.length).toString()).toBe(ENVELOPE_ENCODING_TAG);
  });

  it.each([
    ['federationId', { federationId: 'fed-2' }],
    ['round', { round: 4 }],
    ['phase', { phase: 'unmask' }],
    ['sender', { sender: 'hospital-b' }],
    ['recipient', { recipient: 'hospital-b' }],
  ] as const)('should change when %s changes', (_field, change) => {
    expect(encodeEnvelope({ ...binding, ...change }, payload).equals(encodeEnvelope(binding, payload))).toBe(
      false,
    );
  });

  it('should change when one payload bit changes', () => {
    const other = new Uint8Array([1, 2, 3, 5]);
    expect(encodeEnvelope(binding, other).equals(encodeEnvelope(binding, payload))).toBe(false);
  });

  it('should keep field boundaries: sender "ab" + recipient "c" differs from "a" + "bc"', () => {
    const one = encodeEnvelope({ ...binding, sender: 'ab', recipient: 'c' }, payload);
    const two = encodeEnvelope({ ...binding, sender: 'a', recipient: 'bc' }, payload);
    expect(one.equals(two)).toBe(false);
  });

  it('should carry the payload as its SHA-256, so the encoding stays small for any payload size', () => {
    const big = new Uint8Array(1 << 20);
    const small = encodeEnvelope(binding, new Uint8Array(0));
    const large = encodeEnvelope(binding, big);
    expect(large.length).toBe(small.length);
    expect(large.subarray(large.length - 32).equals(payloadDigest(big))).toBe(true);
  });

  it('should hash exactly the bytes of a payload view, not its whole buffer', () => {
    const buffer = new Uint8Array([0, 1, 2, 3, 4, 9]);
    expect(encodeEnvelope(binding, buffer.subarray(1, 5)).equals(encodeEnvelope(binding, payload))).toBe(
      true,
    );
  });

  it.each([
    ['a negative round', { round: -1 }, /round/],
    ['a fractional round', { round: 1.5 }, /round/],
    ['a NaN round', { round: Number.NaN }, /round/],
    ['an unknown phase', { phase: 'gossip' }, /unknown phase/],
    ['an empty federation', { federationId: '' }, /federationId/],
    ['a lone surrogate', { sender: 'a\uD800' }, /not valid Unicode/],
  ])('should refuse %s', (_what, change, message) => {
    const bad = { ...binding, ...change } as EnvelopeBinding;
    expect(bindingProblem(bad)).toMatch(message);
    expect(() => encodeEnvelope(bad, payload)).toThrow(RangeError);
  });
});
