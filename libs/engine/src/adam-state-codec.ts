import { createAdamState, type AdamState } from './adam';

const MAGIC = 0x4d414441; // 'ADAM' little-endian
const VERSION = 1;
const HEADER_BYTES = 24; // magic u32, version u32, t f64, size f64

/**
 * Serialises an Adam state to bytes (for resuming): a 24-byte little-endian header
 * (magic 'ADAM', version 1, t as float64, N as float64) then m and v as float32 (N each).
 * (For `worker_threads`, the plain {@link AdamState} object can be posted as is.)
 */
export function encodeAdamState(state: AdamState): Uint8Array {
  const n = state.m.length;
  if (state.v.length !== n || !Number.isInteger(state.t) || state.t < 0) {
    throw new Error(
      'encodeAdamState: m and v must have the same length and t must be a non-negative integer',
    );
  }
  const bytes = new Uint8Array(HEADER_BYTES + 8 * n);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, VERSION, true);
  view.setFloat64(8, state.t, true);
  view.setFloat64(16, n, true);
  bytes.set(toLittleEndianBytes(state.m), HEADER_BYTES);
  bytes.set(toLittleEndianBytes(state.v), HEADER_BYTES + 4 * n);
  return bytes;
}

/** Reads back what {@link encodeAdamState} wrote, into a new state of {@link createAdamState}. */
export function decodeAdamState(bytes: Uint8Array): AdamState {
  if (!(bytes instanceof Uint8Array) || bytes.length < HEADER_BYTES) {
    throw new Error('decodeAdamState: not an encoded Adam state (too short)');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC)
    throw new Error('decodeAdamState: not an encoded Adam state (bad magic)');
  const version = view.getUint32(4, true);
  if (version !== VERSION) throw new Error(`decodeAdamState: unsupported version ${version}`);
  const t = view.getFloat64(8, true);
  const n = view.getFloat64(16, true);
  if (
    !Number.isInteger(n) ||
    n < 0 ||
    bytes.length !== HEADER_BYTES + 8 * n ||
    !Number.isInteger(t) ||
    t < 0
  ) {
    throw new Error('decodeAdamState: corrupt Adam state (sizes do not match)');
  }
  const state = createAdamState(n);
  readLittleEndian(bytes, HEADER_BYTES, state.m);
  readLittleEndian(bytes, HEADER_BYTES + 4 * n, state.v);
  state.t = t;
  return state;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function toLittleEndianBytes(a: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const out = new Uint8Array(a.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) view.setFloat32(4 * i, a[i], true);
  return out;
}

function readLittleEndian(bytes: Uint8Array, offset: number, out: Float32Array): void {
  const n = out.length;
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer, out.byteOffset, 4 * n).set(bytes.subarray(offset, offset + 4 * n));
    return;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, 4 * n);
  for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
}
