import { createCipheriv, hkdfSync } from 'node:crypto';
import { endianness } from 'node:os';
import { asInt32, encodeRange, type FixedPoint } from './fixed-point';
import { KERNEL_CHUNK_WORDS, maskKernel, SLOTS, W, X, type MaskKernel } from './simd-kernel';

/**
 * The mask generator: a 32-byte seed and a label (federation, epoch, round, purpose) give a
 * 16-byte AES key by HKDF-SHA256; AES-128 in counter mode over zero bytes gives the mask words.
 *
 * Why AES-128-CTR: OpenSSL runs it with AES-NI at ~5 GB/s per core here (AES-256 ~3 GB/s,
 * ChaCha20 ~2.9 GB/s), and masking is the per-round cost of secure aggregation (one stream per
 * neighbour per round). 128-bit keys are ample for a PRG whose outputs are used once.
 * Why counter mode: word i depends only on (key, i), so any thread can produce any range
 * (the IV is the block index of the range start) and the result is the same bits however the
 * vector is split.
 *
 * Mask word i = little-endian uint32 of keystream bytes [4i, 4i + 4).
 */

if (endianness() !== 'LE')
  throw new Error('secagg/prg: mask words are defined little-endian; this host is not');

export const PRG_ALGORITHM = 'aes-128-ctr';
const PRG_SALT = new TextEncoder().encode('scprivacy/secagg/prg/v1');

/** Words per keystream request (32 KiB): a chunk of every stream stays in cache while it is added. */
export const CHUNK_WORDS = KERNEL_CHUNK_WORDS;
const ZERO = new Uint8Array(CHUNK_WORDS * 4);

/** One mask to add (+1) or subtract (-1). The key is secret: it never leaves its owner. */
export interface MaskStream {
  readonly key: Uint8Array;
  readonly sign: 1 | -1;
}

/** The AES key of one mask: HKDF-SHA256(seed, label). Distinct labels give independent masks. */
export function streamKey(seed: Uint8Array, label: Uint8Array): Uint8Array {
  if (seed.length !== 32) throw new RangeError(`streamKey: seed must be 32 bytes, got ${seed.length}`);
  return new Uint8Array(hkdfSync('sha256', seed, PRG_SALT, label, 16));
}

function counterIv(block: number): Uint8Array {
  const iv = new Uint8Array(16);
  new DataView(iv.buffer).setUint32(12, block);
  return iv;
}

/** What to start each chunk from instead of the words already there: an encoding of `x`. */
export interface EncodeSource {
  readonly x: Float32Array;
  readonly fp: FixedPoint;
  readonly weight: number;
  /** Added on top of the encoding (a precomputed mask), before any stream. */
  readonly addend?: Uint32Array;
}

/**
 * words[lo, hi) += sum of sign * mask, mod 2^32, in place. Chunk by chunk: every stream's
 * keystream for the chunk is produced, then added while the chunk is in cache, four streams per
 * pass (WebAssembly SIMD where available, else JavaScript loops; same bits either way).
 */
export function applyMaskStreams(
  words: Uint32Array,
  streams: readonly MaskStream[],
  lo = 0,
  hi = words.length,
): void {
  maskChunks(words, streams, lo, hi, undefined);
}

/**
 * words[lo, hi) = encode(x[lo, hi)) (+ addend) + sum of sign * mask, in one chunked pass.
 * Returns the number of clipped values in the range.
 */
export function encodeAndMask(
  words: Uint32Array,
  streams: readonly MaskStream[],
  source: EncodeSource,
  lo = 0,
  hi = words.length,
): number {
  if (source.x.length !== words.length || (source.addend && source.addend.length !== words.length)) {
    throw new RangeError('encodeAndMask: vectors of different lengths');
  }
  return maskChunks(words, streams, lo, hi, source);
}

function maskChunks(
  words: Uint32Array,
  streams: readonly MaskStream[],
  lo: number,
  hi: number,
  source: EncodeSource | undefined,
): number {
  if (lo < 0 || hi > words.length || lo > hi) throw new RangeError(`mask: bad range [${lo}, ${hi})`);
  const w = asInt32(words);
  const base0 = lo - (lo & 3); // keystream blocks are 4 words: start at the block holding `lo`
  const ciphers = streams.map((s) => createCipheriv(PRG_ALGORITHM, s.key, counterIv(base0 / 4)));
  const k = maskKernel();
  const chunk = k ? chunkSimd(k, w, streams, ciphers, source) : chunkJs(w, streams, ciphers, source);
  let clipped = 0;
  for (let base = base0; base < hi; base += CHUNK_WORDS) {
    clipped += chunk(base, Math.max(base, lo), Math.min(CHUNK_WORDS, hi - base));
  }
  for (const c of ciphers) c.final();
  return clipped;
}

type Cipher = ReturnType<typeof createCipheriv>;
/** Processes words [from, base + len) of the chunk starting at keystream word `base`. */
type ChunkFn = (base: number, from: number, len: number) => number;

function keystreamBytes(cipher: Cipher, words: number): Uint8Array {
  return cipher.update(words === CHUNK_WORDS ? ZERO : ZERO.subarray(0, words * 4));
}

function chunkSimd(
  k: MaskKernel,
  w: Int32Array,
  streams: readonly MaskStream[],
  ciphers: Cipher[],
  source: EncodeSource | undefined,
): ChunkFn {
  const wi = W / 4;
  const xi = X / 4;
  const addend = source?.addend ? asInt32(source.addend) : undefined;
  const m = source ? source.weight * source.fp.scale : 0;
  // Added streams first, then subtracted ones, four per kernel call: acc[c][n] adds c - n, subtracts n.
  const order = [...streams.keys()].sort((a, b) => streams[b].sign - streams[a].sign);
  return (base, from, len) => {
    const j0 = from - base;
    const bytes = ((len + 3) & ~3) * 4; // whole 16-byte lanes; words past len are never copied back
    let clipped = 0;
    if (source) {
      // Lanes outside [from, base + len) must encode as 0 so they are not counted as clipped.
      k.f32.fill(0, xi, xi + j0);
      k.f32.set(source.x.subarray(from, base + len), xi + j0);
      k.f32.fill(0, xi + len, xi + bytes / 4);
      clipped = k.encode(X, W, bytes, source.fp.clip, m);
      if (addend) {
        k.i32.set(addend.subarray(from, base + len), SLOTS[0] / 4 + j0);
        k.acc[1][0](bytes);
      }
    } else {
      k.i32.set(w.subarray(from, base + len), wi + j0);
    }
    for (let g = 0; g < order.length; g += 4) {
      const c = Math.min(4, order.length - g);
      let n = 0;
      for (let j = 0; j < c; j++) {
        const s = order[g + j];
        k.u8.set(keystreamBytes(ciphers[s], len), SLOTS[j]);
        if (streams[s].sign === -1) n++;
      }
      k.acc[c][n](bytes);
    }
    w.set(k.i32.subarray(wi + j0, wi + len), from);
    return clipped;
  };
}

function chunkJs(
  w: Int32Array,
  streams: readonly MaskStream[],
  ciphers: Cipher[],
  source: EncodeSource | undefined,
): ChunkFn {
  const words = new Uint32Array(w.buffer, w.byteOffset, w.length);
  const addend = source?.addend ? asInt32(source.addend) : undefined;
  const scratch = streams.map(() => new Int32Array(CHUNK_WORDS));
  const plus: Int32Array[] = [];
  const minus: Int32Array[] = [];
  return (base, from, len) => {
    let clipped = 0;
    if (source && addend) clipped = encodeAddRange(source, addend, w, from, base + len);
    else if (source) clipped = encodeRange(source.x, words, source.fp, source.weight, from, base + len);
    const wc = w.subarray(base, base + len);
    const j0 = from - base;
    plus.length = 0;
    minus.length = 0;
    for (let s = 0; s < streams.length; s++) {
      const ks = keystreamBytes(ciphers[s], len);
      let view: Int32Array;
      if ((ks.byteOffset & 3) === 0) view = new Int32Array(ks.buffer, ks.byteOffset, len);
      else {
        // Never seen with OpenSSL's output buffers, but an unaligned one cannot be viewed as words.
        view = scratch[s].subarray(0, len);
        new Uint8Array(view.buffer, view.byteOffset, len * 4).set(ks);
      }
      (streams[s].sign === 1 ? plus : minus).push(view);
    }
    accumulate(wc, j0, len, plus, true);
    accumulate(wc, j0, len, minus, false);
    return clipped;
  };
}

/** w = encode(x) + addend over [lo, hi), one loop (w may be the addend itself). */
function encodeAddRange(
  src: EncodeSource,
  addend: Int32Array,
  w: Int32Array,
  lo: number,
  hi: number,
): number {
  const { x } = src;
  const c = src.fp.clip;
  const m = src.weight * src.fp.scale;
  let clipped = 0;
  for (let i = lo; i < hi; i++) {
    let v = x[i];
    if (v > c || v < -c || v !== v) {
      clipped++;
      v = v > c ? c : v < -c ? -c : 0;
    }
    w[i] = (Math.floor(v * m + 0.5) + addend[i]) | 0;
  }
  return clipped;
}

function accumulate(wc: Int32Array, j0: number, j1: number, ks: Int32Array[], add: boolean): void {
  let s = 0;
  for (; s + 4 <= ks.length; s += 4) {
    if (add) add4(wc, j0, j1, ks[s], ks[s + 1], ks[s + 2], ks[s + 3]);
    else sub4(wc, j0, j1, ks[s], ks[s + 1], ks[s + 2], ks[s + 3]);
  }
  for (; s + 2 <= ks.length; s += 2) {
    if (add) add2(wc, j0, j1, ks[s], ks[s + 1]);
    else sub2(wc, j0, j1, ks[s], ks[s + 1]);
  }
  if (s < ks.length) {
    if (add) add1(wc, j0, j1, ks[s]);
    else sub1(wc, j0, j1, ks[s]);
  }
}

// Monomorphic little loops: every operand is an int32 and the sum of five stays far below 2^53,
// so `| 0` yields the exact residue mod 2^32.
function add4(
  w: Int32Array,
  j0: number,
  j1: number,
  a: Int32Array,
  b: Int32Array,
  c: Int32Array,
  d: Int32Array,
) {
  for (let j = j0; j < j1; j++) w[j] = (w[j] + a[j] + b[j] + c[j] + d[j]) | 0;
}
function sub4(
  w: Int32Array,
  j0: number,
  j1: number,
  a: Int32Array,
  b: Int32Array,
  c: Int32Array,
  d: Int32Array,
) {
  for (let j = j0; j < j1; j++) w[j] = (w[j] - a[j] - b[j] - c[j] - d[j]) | 0;
}
function add2(w: Int32Array, j0: number, j1: number, a: Int32Array, b: Int32Array) {
  for (let j = j0; j < j1; j++) w[j] = (w[j] + a[j] + b[j]) | 0;
}
function sub2(w: Int32Array, j0: number, j1: number, a: Int32Array, b: Int32Array) {
  for (let j = j0; j < j1; j++) w[j] = (w[j] - a[j] - b[j]) | 0;
}
function add1(w: Int32Array, j0: number, j1: number, a: Int32Array) {
  for (let j = j0; j < j1; j++) w[j] = (w[j] + a[j]) | 0;
}
function sub1(w: Int32Array, j0: number, j1: number, a: Int32Array) {
  for (let j = j0; j < j1; j++) w[j] = (w[j] - a[j]) | 0;
}

/** The mask words [offset, offset + n) of one key, as a new vector (tests and diagnostics). */
export function expandWords(key: Uint8Array, n: number, offset = 0): Uint32Array {
  const out = new Uint32Array(offset + n);
  applyMaskStreams(out, [{ key, sign: 1 }], offset, offset + n);
  return out.subarray(offset);
}
