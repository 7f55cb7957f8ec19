/**
 * A WebAssembly SIMD kernel for the fused Adam update (4 float32 lanes at a time), assembled
 * here from its bytes so nothing is compiled or downloaded. The JavaScript loop is limited by
 * the CPU's divider (one float64 sqrt and one division per parameter); the kernel does four
 * per instruction, in float32 like PyTorch.
 *
 * adam(nBytes, p, g, m, v: i32 byte offsets; b1, b2, 1-b1, 1-b2, stepSize, 1/sqrt(1-b2^t), eps: f32)
 * over its imported memory `env.memory`, for byte offsets 0, 16, ..., nBytes-16 of each array:
 *   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g g;  p = p - stepSize (m / (sqrt(v) / sqrt(1-b2^t) + eps))
 */

// Local indices: parameters 0..11, then the locals declared below.
import { F32, get, I32, leb, name, section, set, simd, V128, wasmApi } from '@fl/wasm-kit';

const [N_BYTES, P, G, M, V] = [0, 1, 2, 3, 4];
const [B1, B2, C1, C2, SS, IBC2, EPS] = [5, 6, 7, 8, 9, 10, 11];
const OFF = 12;
const [VG, VM, VV, VB1, VB2, VC1, VC2, VSS, VIBC2, VEPS] = [13, 14, 15, 16, 17, 18, 19, 20, 21, 22];

const load = [...simd(0x00), 0x00, 0x00]; // v128.load, align hint 1, offset 0
const store = [...simd(0x0b), 0x00, 0x00]; // v128.store
const splat = simd(0x13); // f32x4.splat
const sqrt = simd(0xe3);
const add = simd(0xe4);
const sub = simd(0xe5);
const mul = simd(0xe6);
const div = simd(0xe7);
const I32_ADD = 0x6a;
const addr = (base: number) => [...get(base), ...get(OFF), I32_ADD];

// prettier-ignore
const body = [
  // locals: 1 x i32 (offset), 10 x v128
  0x02, 0x01, I32, 0x0a, V128,
  ...[B1, B2, C1, C2, SS, IBC2, EPS].flatMap((s, k) => [...get(s), ...splat, ...set([VB1, VB2, VC1, VC2, VSS, VIBC2, VEPS][k])]),
  0x02, 0x40, // block
  0x03, 0x40, // loop
  ...get(OFF), ...get(N_BYTES), 0x4f /* i32.ge_u */, 0x0d, 0x01, // br_if out of the block
  ...addr(G), ...load, ...set(VG),
  // m = b1 m + (1-b1) g
  ...addr(M), ...load, ...get(VB1), ...mul, ...get(VC1), ...get(VG), ...mul, ...add, ...set(VM),
  ...addr(M), ...get(VM), ...store,
  // v = b2 v + (1-b2) g g
  ...addr(V), ...load, ...get(VB2), ...mul, ...get(VC2), ...get(VG), ...mul, ...get(VG), ...mul, ...add, ...set(VV),
  ...addr(V), ...get(VV), ...store,
  // p = p - stepSize (m / (sqrt(v) ibc2 + eps))
  ...addr(P),
  ...addr(P), ...load,
  ...get(VSS), ...get(VM), ...get(VV), ...sqrt, ...get(VIBC2), ...mul, ...get(VEPS), ...add, ...div, ...mul,
  ...sub, ...store,
  ...get(OFF), 0x41, 0x10 /* i32.const 16 */, I32_ADD, ...set(OFF),
  0x0c, 0x00, // br to loop start
  0x0b, // end loop
  0x0b, // end block
  0x0b, // end function
];

// prettier-ignore
const MODULE_BYTES = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  ...section(1, [0x01, 0x60, 0x0c, I32, I32, I32, I32, I32, F32, F32, F32, F32, F32, F32, F32, 0x00]),
  ...section(2, [0x01, ...name('env'), ...name('memory'), 0x02, 0x00, 0x01]),
  ...section(3, [0x01, 0x00]),
  ...section(7, [0x01, ...name('adam'), 0x00, 0x00]),
  ...section(10, [0x01, ...leb(body.length), ...body]),
]);

export type AdamSimdFunction = (
  nBytes: number,
  p: number,
  g: number,
  m: number,
  v: number,
  b1: number,
  b2: number,
  oneMinusB1: number,
  oneMinusB2: number,
  stepSize: number,
  invBiasCorrection2Sqrt: number,
  eps: number,
) => void;

let compiled: object | null | undefined;

/**
 * A kernel with its own memory of `pages` 64 KiB pages (fixed size, so views of `buffer`
 * stay valid), or undefined where WebAssembly SIMD is not available (the caller then uses
 * the JavaScript loop).
 */
export function adamSimdKernel(pages: number): { run: AdamSimdFunction; buffer: ArrayBuffer } | undefined {
  if (compiled === undefined) {
    try {
      compiled =
        wasmApi !== undefined && wasmApi.validate(MODULE_BYTES) ? new wasmApi.Module(MODULE_BYTES) : null;
    } catch {
      compiled = null;
    }
  }
  if (compiled === null || wasmApi === undefined) return undefined;
  const memory = new wasmApi.Memory({ initial: pages, maximum: pages });
  const instance = new wasmApi.Instance(compiled, { env: { memory } });
  return { run: instance.exports.adam as AdamSimdFunction, buffer: memory.buffer };
}
