import { createCipheriv, hkdfSync } from 'node:crypto';
import { endianness } from 'node:os';
import {
  encodeRange,
  roundHalfEven,
  laneView,
  lanesPerWord,
  wordsFor,
  type FixedPoint,
  type LaneArray,
  type LaneBits,
} from './fixed-point';
import { B, KERNEL_CHUNK_WORDS, maskKernel, SLOTS, W, X, type MaskKernel } from './simd-kernel';

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
 * Mask word i = little-endian uint32 of keystream bytes [4i, 4i + 4); at lane width b, mask lane j
 * = little-endian b-bit integer of keystream bytes [j b/8, (j + 1) b/8): the same bytes, read as
 * lanes (uniform bytes give uniform lanes mod 2^b), so a word's keystream does not depend on b.
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
  /** Encode x - base (float32 difference) instead of x: a round's update against its global model. */
  readonly base?: Float32Array;
  /** Added on top of the encoding (a precomputed mask), before any stream. */
  readonly addend?: Uint32Array;
}

/**
 * words[lo, hi) += sum of sign * mask, mod 2^b in each b-bit lane, in place. Chunk by chunk:
 * every stream's keystream for the chunk is produced, then added while the chunk is in cache,
 * four streams per pass (WebAssembly SIMD where available, else JavaScript loops; same bits
 * either way). Ranges are words.
 */
export function applyMaskStreams(
  words: Uint32Array,
  streams: readonly MaskStream[],
  lo = 0,
  hi = words.length,
  bits: LaneBits = 32,
): void {
  maskChunks(words, streams, lo, hi, bits, undefined);
}

/**
 * words[lo, hi) = encode(x - base) (+ addend) + sum of sign * mask, in one chunked pass, at the
 * fixed point's lane width (word w holds elements [w * 32/b, (w + 1) * 32/b)). Returns the number
 * of clipped values in the range.
 */
export function encodeAndMask(
  words: Uint32Array,
  streams: readonly MaskStream[],
  source: EncodeSource,
  lo = 0,
  hi = words.length,
): number {
  const n = source.x.length;
  if (
    wordsFor(n, source.fp.bits) !== words.length ||
    (source.addend && source.addend.length !== words.length) ||
    (source.base && source.base.length !== n)
  ) {
    throw new RangeError('encodeAndMask: vectors of different lengths');
  }
  return maskChunks(words, streams, lo, hi, source.fp.bits, source);
}

function maskChunks(
  words: Uint32Array,
  streams: readonly MaskStream[],
  lo: number,
  hi: number,
  bits: LaneBits,
  source: EncodeSource | undefined,
): number {
  if (lo < 0 || hi > words.length || lo > hi) throw new RangeError(`mask: bad range [${lo}, ${hi})`);
  const base0 = lo - (lo & 3); // keystream blocks are 4 words: start at the block holding `lo`
  const ciphers = streams.map((s) => createCipheriv(PRG_ALGORITHM, s.key, counterIv(base0 / 4)));
  const k = maskKernel();
  const chunk = k
    ? chunkSimd(k, words, bits, streams, ciphers, source)
    : chunkJs(words, bits, streams, ciphers, source);
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
  words: Uint32Array,
  bits: LaneBits,
  streams: readonly MaskStream[],
  ciphers: Cipher[],
  source: EncodeSource | undefined,
): ChunkFn {
  const w = new Int32Array(words.buffer, words.byteOffset, words.length);
  const wi = W / 4;
  const L = lanesPerWord(bits);
  const acc = k.acc[bits];
  const addend = source?.addend
    ? new Int32Array(source.addend.buffer, source.addend.byteOffset, source.addend.length)
    : undefined;
  const m = source ? source.weight * source.fp.scale : 0;
  // Added streams first, then subtracted ones, four per kernel call: acc[c][n] adds c - n, subtracts n.
  const order = [...streams.keys()].sort((a, b) => streams[b].sign - streams[a].sign);
  return (base, from, len) => {
    const j0 = from - base;
    const bytes = ((len + 3) & ~3) * 4; // whole 16-byte lanes; words past len are never copied back
    let clipped = 0;
    if (source) {
      // Elements of words [from, base + len); lanes outside them (and past the vector's end) must
      // encode as 0 so they are neither counted as clipped nor left holding old data.
      const n = source.x.length;
      const e0 = from * L;
      const e1 = Math.min((base + len) * L, n);
      const values = (bytes / 4) * L;
      fillRegion(k.f32, X / 4, j0 * L, source.x, e0, e1, values);
      if (source.base) {
        fillRegion(k.f32, B / 4, j0 * L, source.base, e0, e1, values);
        k.sub(values * 4);
      }
      clipped =
        bits === 32
          ? k.encode(X, W, values * 4, source.fp.clip, m)
          : k.encode32f(X, W, values * 4, Math.fround(source.fp.clip), Math.fround(m));
      if (L >= 2) k.narrow16(values * 2);
      if (L === 4) k.narrow8(values);
      if (addend) {
        k.i32.set(addend.subarray(from, base + len), SLOTS[0] / 4 + j0);
        acc[1][0](bytes);
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
      acc[c][n](bytes);
    }
    w.set(k.i32.subarray(wi + j0, wi + len), from);
    return clipped;
  };
}

/** region[0, total) = zeros, then src[e0, e1) placed at offset `at`. */
function fillRegion(
  f32: Float32Array,
  region: number,
  at: number,
  src: Float32Array,
  e0: number,
  e1: number,
  total: number,
): void {
  f32.fill(0, region, region + at);
  f32.set(src.subarray(e0, e1), region + at);
  f32.fill(0, region + at + (e1 - e0), region + total);
}

function chunkJs(
  words: Uint32Array,
  bits: LaneBits,
  streams: readonly MaskStream[],
  ciphers: Cipher[],
  source: EncodeSource | undefined,
): ChunkFn {
  const L = lanesPerWord(bits);
  const lanes = laneView(words, bits);
  const addend = source?.addend ? laneView(source.addend, bits) : undefined;
  const scratch = streams.map(() => new Uint32Array(CHUNK_WORDS));
  const plus: LaneArray[] = [];
  const minus: LaneArray[] = [];
  return (base, from, len) => {
    let clipped = 0;
    if (source) {
      const e0 = from * L;
      const e1 = Math.min((base + len) * L, source.x.length);
      clipped = encodeAddRange(source, addend, lanes, e0, e1);
      lanes.fill(0, e1, (base + len) * L); // padding lanes of the last word
    }
    const wc = lanes.subarray(base * L, (base + len) * L);
    const j0 = (from - base) * L;
    const j1 = len * L;
    plus.length = 0;
    minus.length = 0;
    for (let s = 0; s < streams.length; s++) {
      const ks = keystreamBytes(ciphers[s], len);
      let view: LaneArray;
      if ((ks.byteOffset & 3) === 0) view = laneView(new Uint32Array(ks.buffer, ks.byteOffset, len), bits);
      else {
        // Never seen with OpenSSL's output buffers, but an unaligned one cannot be viewed as words.
        const copy = scratch[s].subarray(0, len);
        new Uint8Array(copy.buffer, copy.byteOffset, len * 4).set(ks);
        view = laneView(copy, bits);
      }
      (streams[s].sign === 1 ? plus : minus).push(view);
    }
    accumulate(wc, j0, j1, plus, true);
    accumulate(wc, j0, j1, minus, false);
    return clipped;
  };
}

/** lanes[lo, hi) = encode(x - base) (+ addend) over elements [lo, hi), one loop. */
function encodeAddRange(
  src: EncodeSource,
  addend: LaneArray | undefined,
  w: LaneArray,
  lo: number,
  hi: number,
): number {
  if (!addend) {
    const words = new Uint32Array(w.buffer, w.byteOffset, w.byteLength / 4);
    return encodeRange(src.x, words, src.fp, src.weight, lo, hi, src.base);
  }
  const { x, base } = src;
  const narrow = src.fp.bits < 32;
  const c = narrow ? Math.fround(src.fp.clip) : src.fp.clip;
  const m = narrow ? Math.fround(src.weight * src.fp.scale) : src.weight * src.fp.scale;
  let clipped = 0;
  for (let i = lo; i < hi; i++) {
    let v = base ? Math.fround(x[i] - base[i]) : x[i];
    if (v > c || v < -c || v !== v) {
      clipped++;
      v = v > c ? c : v < -c ? -c : 0;
    }
    w[i] = ((narrow ? roundHalfEven(Math.fround(v * m)) : Math.floor(v * m + 0.5)) + addend[i]) | 0;
  }
  return clipped;
}

function accumulate(wc: LaneArray, j0: number, j1: number, ks: LaneArray[], add: boolean): void {
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

// Little loops: every operand is a b-bit signed integer and the sum of five stays far below 2^53,
// so `| 0` yields the exact residue mod 2^32, and a store into a b-bit lane the residue mod 2^b.
function add4(w: LaneArray, j0: number, j1: number, a: LaneArray, b: LaneArray, c: LaneArray, d: LaneArray) {
  for (let j = j0; j < j1; j++) w[j] = (w[j] + a[j] + b[j] + c[j] + d[j]) | 0;
}
function sub4(w: LaneArray, j0: number, j1: number, a: LaneArray, b: LaneArray, c: LaneArray, d: LaneArray) {
  for (let j = j0; j < j1; j++) w[j] = (w[j] - a[j] - b[j] - c[j] - d[j]) | 0;
}
function add2(w: LaneArray, j0: number, j1: number, a: LaneArray, b: LaneArray) {
  for (let j = j0; j < j1; j++) w[j] = (w[j] + a[j] + b[j]) | 0;
}
function sub2(w: LaneArray, j0: number, j1: number, a: LaneArray, b: LaneArray) {
  for (let j = j0; j < j1; j++) w[j] = (w[j] - a[j] - b[j]) | 0;
}
function add1(w: LaneArray, j0: number, j1: number, a: LaneArray) {
  for (let j = j0; j < j1; j++) w[j] = (w[j] + a[j]) | 0;
}
function sub1(w: LaneArray, j0: number, j1: number, a: LaneArray) {
  for (let j = j0; j < j1; j++) w[j] = (w[j] - a[j]) | 0;
}

/** The mask words [offset, offset + n) of one key, as a new vector (tests and diagnostics). */
export function expandWords(key: Uint8Array, n: number, offset = 0): Uint32Array {
  const out = new Uint32Array(offset + n);
  applyMaskStreams(out, [{ key, sign: 1 }], offset, offset + n);
  return out.subarray(offset);
}
