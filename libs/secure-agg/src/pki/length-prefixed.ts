/**
 * Unambiguous byte strings for signing. Every variable-length field is preceded by its length
 * (uint32, big-endian) and numbers are fixed-width, so two different field lists can never
 * produce the same bytes ("ab" + "c" and "a" + "bc" differ). `JSON.stringify` of an object
 * cannot promise that: key order follows insertion order and a number has several spellings,
 * so two honest parties could sign different bytes for the same message.
 */

/** Matches a lone (unpaired) UTF-16 surrogate; paired surrogates are one code point to a `u` regex. */
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * A string that UTF-8 cannot represent exactly. TextEncoder / Buffer.from replace a lone surrogate
 * with U+FFFD, so "a\uD800" and "a\uFFFD" would encode to the same bytes: a signature over one
 * would then verify for the other. Such strings are refused rather than silently merged.
 */
export function hasLoneSurrogate(value: string): boolean {
  return LONE_SURROGATE.test(value);
}

export class LengthPrefixedWriter {
  readonly #parts: Uint8Array[] = [];

  bytes(value: Uint8Array): this {
    if (value.byteLength > 0xffff_ffff) throw new RangeError('field longer than 4 GiB');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(value.byteLength);
    this.#parts.push(length, value);
    return this;
  }

  text(value: string): this {
    if (hasLoneSurrogate(value)) throw new RangeError(`string ${JSON.stringify(value)} is not valid Unicode`);
    return this.bytes(Buffer.from(value, 'utf8'));
  }

  /** A non-negative safe integer as 8 bytes, big-endian. */
  uint64(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`${value} is not a non-negative integer`);
    }
    const bytes = Buffer.alloc(8);
    bytes.writeBigUInt64BE(BigInt(value));
    this.#parts.push(bytes);
    return this;
  }

  finish(): Buffer {
    return Buffer.concat(this.#parts);
  }
}
