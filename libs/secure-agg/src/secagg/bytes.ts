import { ProtocolViolation } from './errors';

/**
 * Canonical byte encoding of protocol messages: fixed-width big-endian integers and
 * length-prefixed strings and byte strings, in a fixed field order. One encoding per message,
 * so signatures, AEAD associated data and HKDF labels never depend on how a value was built,
 * and no two different field lists encode to the same bytes (every variable field has a length).
 */

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

export class ByteWriter {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  private len = 0;

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): this {
    this.reserve(1);
    this.view.setUint8(this.len, v);
    this.len += 1;
    return this;
  }

  u32(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`u32 out of range: ${v}`);
    this.reserve(4);
    this.view.setUint32(this.len, v);
    this.len += 4;
    return this;
  }

  f64(v: number): this {
    this.reserve(8);
    this.view.setFloat64(this.len, v);
    this.len += 8;
    return this;
  }

  bytes(v: Uint8Array): this {
    this.u32(v.length);
    this.reserve(v.length);
    this.buf.set(v, this.len);
    this.len += v.length;
    return this;
  }

  str(v: string): this {
    return this.bytes(utf8.encode(v));
  }

  strs(v: readonly string[]): this {
    this.u32(v.length);
    for (const s of v) this.str(s);
    return this;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** Reads what ByteWriter wrote; any overrun, bad UTF-8 or trailing byte is a ProtocolViolation. */
export class ByteReader {
  private pos = 0;
  private readonly view: DataView;

  constructor(
    private readonly buf: Uint8Array,
    private readonly what: string,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new ProtocolViolation('malformed', `${this.what} is truncated`);
  }

  u8(): number {
    this.need(1);
    return this.view.getUint8(this.pos++);
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  f64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos);
    this.pos += 8;
    return v;
  }

  bytes(): Uint8Array {
    const n = this.u32();
    this.need(n);
    const v = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** A byte string that must have exactly `n` bytes (keys, digests). */
  fixed(n: number): Uint8Array {
    const v = this.bytes();
    if (v.length !== n)
      throw new ProtocolViolation('malformed', `${this.what}: expected ${n} bytes, got ${v.length}`);
    return v;
  }

  str(): string {
    try {
      return utf8Strict.decode(this.bytes());
    } catch (e) {
      if (e instanceof ProtocolViolation) throw e;
      throw new ProtocolViolation('malformed', `${this.what}: invalid UTF-8`);
    }
  }

  strs(max = 1024): string[] {
    const n = this.u32();
    if (n > max) throw new ProtocolViolation('malformed', `${this.what}: list of ${n} entries`);
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(this.str());
    return out;
  }

  /** Expects `tag` next: distinguishes message kinds so one can never be read as another. */
  tag(tag: string): void {
    const got = this.str();
    if (got !== tag) throw new ProtocolViolation('malformed', `${this.what}: expected ${tag}, got ${got}`);
  }

  end(): void {
    if (this.pos !== this.buf.length) {
      throw new ProtocolViolation('malformed', `${this.what}: ${this.buf.length - this.pos} trailing bytes`);
    }
  }
}

/** Constant-time equality of two byte strings (digests, public keys). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}
