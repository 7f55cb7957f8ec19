/**
 * WebAssembly SIMD kernels for the masking hot loops, assembled here from their bytes (nothing
 * compiled or downloaded). The JavaScript loops run ~1 ns per word per mask stream and ~4 ns per
 * encoded parameter; these do 16 bytes per instruction, with the exact same arithmetic:
 *
 *   acc{b}_c_n(nBytes)   W += S0 + ... + S(c-n-1) - S(c-n) - ... - S(c-1)   (b-bit lanes, mod 2^b)
 *   encode(x, w, nBytes, clip: f64, m: f64) -> clipped count       (x, w: byte offsets)
 *     w = i32(floor(clamp(f64(x), -clip, clip) * m + 0.5)), NaN -> 0; counts x > clip, x < -clip, NaN
 *     (float32 promoted to float64 first: bit-identical to encodeRange's JavaScript)
 *   encode32f(x, w, nBytes, clip: f32, m: f32) -> clipped count   (lanes of 16 bits and fewer)
 *     w = i32(nearest(f32(clamp(x, -clip, clip) * m))), NaN -> 0, in float32 arithmetic, ties to
 *     even: 4 values per instruction instead of 2; bit-identical to encodeRange's JavaScript for
 *     b <= 16 (Math.fround at each step, then round half to even)
 *   sub(nBytes)          X -= B (float32 lanes: the update x - base, rounded as JavaScript's fround)
 *   narrow16(nOutBytes)  W[0, n) = i16 lanes of the i32 lanes W[0, 2n) (in place; exact: encoded
 *   narrow8(nOutBytes)   values fit the lane by the fixed point's choice of scale, so the
 *                        saturating narrow never saturates)
 *
 * over the kernel's own fixed memory: an input region X and a base region B (float32, room for
 * 4 * KERNEL_CHUNK_WORDS values: one chunk of 8-bit lanes), the work region W (as large, since
 * values are encoded as i32 before narrowing) and four keystream slots of KERNEL_CHUNK_WORDS words.
 * Callers copy a chunk in, run, copy it out.
 */
import { F32, F64, get, I32, leb, name, section, set, simd, V128, wasmApi } from '@fl/wasm-kit';

/**
 * Words per chunk (32 KiB). Also the size of each keystream buffer OpenSSL hands back: glibc runs
 * its consolidate-and-trim check whenever a freed chunk is 64 KiB or more, and on this kind of VM a
 * trimmed heap costs ~10 us per page fault to grow back (measured: 64 KiB buffers caused page-fault
 * storms of up to 1 s per K = 10 masking of 10 M words; 32 KiB ones did not).
 */
export const KERNEL_CHUNK_WORDS = 8192;
const REGION = KERNEL_CHUNK_WORDS * 4;
const WIDE = 4 * REGION;
/** Byte offsets of the regions. */
export const X = 0;
export const B = WIDE;
export const W = 2 * WIDE;
export const SLOTS = [3 * WIDE, 3 * WIDE + REGION, 3 * WIDE + 2 * REGION, 3 * WIDE + 3 * REGION] as const;
const PAGES = Math.ceil((3 * WIDE + 4 * REGION) / 65536);

const load = [...simd(0x00), 0x00, 0x00]; // v128.load align=1 offset=0
const store = [...simd(0x0b), 0x00, 0x00];
const shuffle = (lanes: number[]) => [...simd(0x0d), ...lanes];
const I32_ADD = 0x6a;
const I32_GE_U = 0x4f;
const op = {
  i32x4Splat: simd(0x11),
  i64x2Splat: simd(0x12),
  f64x2Splat: simd(0x14),
  i64x2ExtractLane: (l: number) => [...simd(0x1d), l],
  f64x2Ne: simd(0x48),
  f64x2Lt: simd(0x49),
  f64x2Gt: simd(0x4a),
  andnot: simd(0x4f),
  or: simd(0x50),
  xor: simd(0x51),
  promoteLow: simd(0x5f),
  f64x2Floor: simd(0x75),
  i8x16NarrowI16x8S: simd(0x65),
  i16x8NarrowI32x4S: simd(0x85),
  i32x4Add: simd(0xae),
  i32x4Sub: simd(0xb1),
  f32x4Sub: simd(0xe5),
  f32x4Splat: simd(0x13),
  f32x4Ne: simd(0x42),
  f32x4Lt: simd(0x43),
  f32x4Gt: simd(0x44),
  f32x4Nearest: simd(0x6a),
  f32x4Mul: simd(0xe6),
  f32x4Pmin: simd(0xea),
  f32x4Pmax: simd(0xeb),
  i32x4TruncSatF32x4S: simd(0xf8),
  i32x4ExtractLane: (l: number) => [...simd(0x1b), l],
  i64x2Sub: simd(0xd1),
  f64x2Add: simd(0xf0),
  f64x2Mul: simd(0xf2),
  f64x2Pmin: simd(0xf6),
  f64x2Pmax: simd(0xf7),
  truncSatZero: simd(0xfc),
};
const f64Const = (v: number) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, v, true);
  return [0x44, ...b];
};
const addr = (base: number, off: number) => [...get(base), ...get(off), I32_ADD];
/** Loop over byte offsets 0, 16, ..., n - 16 of local `off` against local `n`; `body` per step. */
const loop16 = (off: number, n: number, body: number[]) => [
  0x02,
  0x40,
  0x03,
  0x40,
  ...get(off),
  ...get(n),
  I32_GE_U,
  0x0d,
  0x01,
  ...body,
  ...get(off),
  0x41,
  0x10,
  I32_ADD,
  ...set(off),
  0x0c,
  0x00,
  0x0b,
  0x0b,
];

// acc{b}_c_n(nBytes): W += S0 + ... (first c - n slots) - ... (last n slots), in b-bit lanes.
// Regions are at fixed offsets, so each load is `local.get off; v128.load offset=REGION`: no
// address arithmetic, no sign lanes. One variant per (b, c, n), c = 1..4, n = 0..c.
const loadAt = (region: number) => [...simd(0x00), 0x04, ...leb(region)]; // align 16, offset
const storeAt = (region: number) => [...simd(0x0b), 0x04, ...leb(region)];
const LANE_OPS: Record<number, { add: number[]; sub: number[] }> = {
  8: { add: simd(0x6e), sub: simd(0x71) },
  16: { add: simd(0x8e), sub: simd(0x91) },
  32: { add: op.i32x4Add, sub: op.i32x4Sub },
};
function accBody(bits: number, c: number, n: number): number[] {
  const OFF = 1;
  return [
    0x01,
    0x01,
    I32,
    ...loop16(OFF, 0, [
      ...get(OFF),
      ...get(OFF),
      ...loadAt(W),
      ...Array.from({ length: c }, (_, j) => [
        ...get(OFF),
        ...loadAt(SLOTS[j]),
        ...(j < c - n ? LANE_OPS[bits].add : LANE_OPS[bits].sub),
      ]).flat(),
      ...storeAt(W),
    ]),
    0x0b,
  ];
}
const ACC_VARIANTS: [number, number, number][] = [];
for (const bits of [8, 16, 32])
  for (let c = 1; c <= 4; c++) for (let n = 0; n <= c; n++) ACC_VARIANTS.push([bits, c, n]);

// sub(nBytes): X -= B, float32 lanes.
const subBody = (() => {
  const OFF = 1;
  return [
    0x01,
    0x01,
    I32,
    ...loop16(OFF, 0, [
      ...get(OFF),
      ...get(OFF),
      ...loadAt(X),
      ...get(OFF),
      ...loadAt(B),
      ...op.f32x4Sub,
      ...storeAt(X),
    ]),
    0x0b,
  ];
})();

// narrow(nOutBytes): W[o, o + 16) = narrow(W[2o, 2o + 16), W[2o + 16, 2o + 32)) for o < nOutBytes.
// Writes trail reads (o <= 2o), so in place is safe.
function narrowBody(narrow: number[]): number[] {
  const OFF = 1;
  const twice = [...get(OFF), ...get(OFF), I32_ADD];
  return [
    0x01,
    0x01,
    I32,
    ...loop16(OFF, 0, [
      ...get(OFF),
      ...twice,
      ...loadAt(W),
      ...twice,
      ...loadAt(W + 16),
      ...narrow,
      ...storeAt(W),
    ]),
    0x0b,
  ];
}

// encode: params X0 W1 N2 CLIP3 (f64) M4 (f64); locals OFF5 (i32), VC6 VNC7 VM8 VHALF9 V10 CNT11 NAN12 ILO13 H14 (v128)
const encodeBody = (() => {
  const [OFF, VC, VNC, VM, VHALF, V, CNT, NAN, ILO, H] = [5, 6, 7, 8, 9, 10, 11, 12, 13, 14];
  // f64x2 lanes in H -> i32x4 [a, b, 0, 0] on the stack; counts clipped lanes into CNT.
  const half = [
    ...get(H),
    ...get(H),
    ...op.f64x2Ne,
    ...set(NAN),
    ...get(CNT),
    ...get(H),
    ...get(VC),
    ...op.f64x2Gt,
    ...get(H),
    ...get(VNC),
    ...op.f64x2Lt,
    ...op.or,
    ...get(NAN),
    ...op.or,
    ...op.i64x2Sub,
    ...set(CNT),
    ...get(H),
    ...get(VNC),
    ...op.f64x2Pmax,
    ...get(VC),
    ...op.f64x2Pmin,
    ...get(NAN),
    ...op.andnot,
    ...get(VM),
    ...op.f64x2Mul,
    ...get(VHALF),
    ...op.f64x2Add,
    ...op.f64x2Floor,
    ...op.truncSatZero,
  ];
  return [
    0x02,
    0x01,
    I32,
    0x09,
    V128,
    ...get(3),
    ...op.f64x2Splat,
    ...set(VC),
    ...get(3),
    0x9a /* f64.neg */,
    ...op.f64x2Splat,
    ...set(VNC),
    ...get(4),
    ...op.f64x2Splat,
    ...set(VM),
    ...f64Const(0.5),
    ...op.f64x2Splat,
    ...set(VHALF),
    0x42,
    0x00,
    ...op.i64x2Splat,
    ...set(CNT),
    ...loop16(OFF, 2, [
      ...addr(0, OFF),
      ...load,
      ...set(V),
      ...get(V),
      ...op.promoteLow,
      ...set(H),
      ...half,
      ...set(ILO),
      ...addr(1, OFF),
      ...get(ILO),
      ...get(V),
      ...get(V),
      ...shuffle([8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7]),
      ...op.promoteLow,
      ...set(H),
      ...half,
      ...shuffle([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]),
      ...store,
    ]),
    ...get(CNT),
    ...op.i64x2ExtractLane(0),
    ...get(CNT),
    ...op.i64x2ExtractLane(1),
    0x7c /* i64.add */,
    0xa7 /* i32.wrap_i64 */,
    0x0b,
  ];
})();

// encode32f: params X0 W1 N2 CLIP3 (f32) M4 (f32); locals OFF5 (i32), VC6 VNC7 VM8 V9 CNT10 NAN11 (v128)
const encode32fBody = (() => {
  const [OFF, VC, VNC, VM, V, CNT, NAN] = [5, 6, 7, 8, 9, 10, 11];
  return [
    0x02,
    0x01,
    I32,
    0x06,
    V128,
    ...get(3),
    ...op.f32x4Splat,
    ...set(VC),
    ...get(3),
    0x8c /* f32.neg */,
    ...op.f32x4Splat,
    ...set(VNC),
    ...get(4),
    ...op.f32x4Splat,
    ...set(VM),
    0x42,
    0x00,
    ...op.i64x2Splat,
    ...set(CNT),
    ...loop16(OFF, 2, [
      ...addr(1, OFF),
      ...addr(0, OFF),
      ...load,
      ...set(V),
      ...get(V),
      ...get(V),
      ...op.f32x4Ne,
      ...set(NAN),
      ...get(CNT),
      ...get(V),
      ...get(VC),
      ...op.f32x4Gt,
      ...get(V),
      ...get(VNC),
      ...op.f32x4Lt,
      ...op.or,
      ...get(NAN),
      ...op.or,
      ...op.i32x4Sub,
      ...set(CNT),
      ...get(V),
      ...get(VNC),
      ...op.f32x4Pmax,
      ...get(VC),
      ...op.f32x4Pmin,
      ...get(NAN),
      ...op.andnot,
      ...get(VM),
      ...op.f32x4Mul,
      ...op.f32x4Nearest,
      ...op.i32x4TruncSatF32x4S,
      ...store,
    ]),
    ...get(CNT),
    ...op.i32x4ExtractLane(0),
    ...get(CNT),
    ...op.i32x4ExtractLane(1),
    I32_ADD,
    ...get(CNT),
    ...op.i32x4ExtractLane(2),
    I32_ADD,
    ...get(CNT),
    ...op.i32x4ExtractLane(3),
    I32_ADD,
    0x0b,
  ];
})();

const fn = (body: number[]) => [...leb(body.length), ...body];

// prettier-ignore
const MODULE_BYTES = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  ...section(1, [
    0x03,
    0x60, 0x01, I32, 0x00,
    0x60, 0x05, I32, I32, I32, F64, F64, 0x01, I32,
    0x60, 0x05, I32, I32, I32, F32, F32, 0x01, I32,
  ]),
  ...section(2, [0x01, ...name('env'), ...name('memory'), 0x02, 0x00, ...leb(PAGES)]),
  ...section(3, [...leb(ACC_VARIANTS.length + 5), ...ACC_VARIANTS.map(() => 0x00), 0x01, 0x00, 0x00, 0x00, 0x02]),
  ...section(7, [
    ...leb(ACC_VARIANTS.length + 5),
    ...ACC_VARIANTS.flatMap(([b, c, n], i) => [...name(`acc${b}_${c}_${n}`), 0x00, ...leb(i)]),
    ...name('encode'), 0x00, ...leb(ACC_VARIANTS.length),
    ...name('sub'), 0x00, ...leb(ACC_VARIANTS.length + 1),
    ...name('narrow16'), 0x00, ...leb(ACC_VARIANTS.length + 2),
    ...name('narrow8'), 0x00, ...leb(ACC_VARIANTS.length + 3),
    ...name('encode32f'), 0x00, ...leb(ACC_VARIANTS.length + 4),
  ]),
  ...section(10, [
    ...leb(ACC_VARIANTS.length + 5),
    ...ACC_VARIANTS.flatMap(([b, c, n]) => fn(accBody(b, c, n))),
    ...fn(encodeBody),
    ...fn(subBody),
    ...fn(narrowBody(op.i16x8NarrowI32x4S)),
    ...fn(narrowBody(op.i8x16NarrowI16x8S)),
    ...fn(encode32fBody),
  ]),
]);

type Run = (nBytes: number) => void;

export interface MaskKernel {
  /** acc[b][c][n](nBytes): W += the first c - n slots, -= the next n (c = 1..4 slots in use), b-bit lanes. */
  readonly acc: Record<8 | 16 | 32, Run[][]>;
  encode(x: number, w: number, nBytes: number, clip: number, m: number): number;
  /** Float32 encoding for lanes of 16 bits and fewer (see the header). */
  encode32f(x: number, w: number, nBytes: number, clip: number, m: number): number;
  /** X -= B over nBytes (float32 lanes). */
  readonly sub: Run;
  /** i32 -> i16 lanes in W, nOutBytes written. */
  readonly narrow16: Run;
  /** i16 -> i8 lanes in W, nOutBytes written. */
  readonly narrow8: Run;
  readonly u8: Uint8Array;
  readonly i32: Int32Array;
  readonly f32: Float32Array;
}

let kernel: MaskKernel | null | undefined;

/** This thread's kernel, or undefined where WebAssembly SIMD is unavailable (callers fall back to JS). */
export function maskKernel(): MaskKernel | undefined {
  if (kernel === undefined) kernel = instantiate();
  return kernel ?? undefined;
}

/** Forces the JavaScript loops (tests compare the two paths). */
export function setMaskKernelEnabled(enabled: boolean): void {
  kernel = enabled ? instantiate() : null;
}

function instantiate(): MaskKernel | null {
  try {
    if (wasmApi === undefined || !wasmApi.validate(MODULE_BYTES)) return null;
    const memory = new wasmApi.Memory({ initial: PAGES, maximum: PAGES });
    const instance = new wasmApi.Instance(new wasmApi.Module(MODULE_BYTES), { env: { memory } });
    const buffer = memory.buffer;
    const accTable = (bits: number): Run[][] =>
      [1, 2, 3, 4].reduce<Run[][]>(
        (table, c) => {
          table[c] = Array.from({ length: c + 1 }, (_, n) => instance.exports[`acc${bits}_${c}_${n}`] as Run);
          return table;
        },
        [[]],
      );
    return {
      acc: { 8: accTable(8), 16: accTable(16), 32: accTable(32) },
      encode: instance.exports.encode as MaskKernel['encode'],
      encode32f: instance.exports.encode32f as MaskKernel['encode32f'],
      sub: instance.exports.sub as Run,
      narrow16: instance.exports.narrow16 as Run,
      narrow8: instance.exports.narrow8 as Run,
      u8: new Uint8Array(buffer),
      i32: new Int32Array(buffer),
      f32: new Float32Array(buffer),
    };
  } catch {
    return null;
  }
}
