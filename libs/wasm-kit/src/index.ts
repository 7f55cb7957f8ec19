/**
 * @fl/wasm-kit: a few WebAssembly encoders, enough to assemble the small SIMD kernels of the
 * engine (fused Adam, sparse embedding) and of secure aggregation (mask streams) in code, so
 * nothing is compiled by a toolchain or downloaded. Written by hand because no maintained npm
 * package emits raw instruction bytes without a compiler.
 */

export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;
export const F64 = 0x7c;

/** Unsigned LEB128. */
export function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 (for i32.const). */
export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

export const section = (id: number, content: number[]) => [id, ...leb(content.length), ...content];
export const name = (s: string) => [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];

export const get = (i: number) => [0x20, ...leb(i)];
export const set = (i: number) => [0x21, ...leb(i)];
export const i32Const = (n: number) => [0x41, ...sleb(n)];
export const I32_ADD = 0x6a;
export const I32_MUL = 0x6c;
export const I32_SHL = 0x74;
export const I32_GE_U = 0x4f;
export const I32_GT_S = 0x4a;
export const F32_NE = 0x5c;
/** i32.load with a 4-byte alignment hint. */
export const i32Load = (offset = 0) => [0x28, 0x02, ...leb(offset)];
export const i32Store = (offset = 0) => [0x36, 0x02, ...leb(offset)];
export const f32Load = (offset = 0) => [0x2a, 0x02, ...leb(offset)];
export const f32Store = (offset = 0) => [0x38, 0x02, ...leb(offset)];
export const F32_ZERO = [0x43, 0x00, 0x00, 0x00, 0x00];
/** `if (condition on the stack) { ...body }` */
export const ifThen = (body: number[]) => [0x04, 0x40, ...body, 0x0b];
export const RETURN = 0x0f;

/** A SIMD (0xfd-prefixed) opcode. */
export const simd = (op: number) => [0xfd, ...leb(op)];
/** v128.load (alignment hint 16 bytes). */
export const v128Load = (offset = 0) => [...simd(0x00), 0x04, ...leb(offset)];
/** v128.store (alignment hint 16 bytes, or 2^alignLog2). */
export const v128Store = (offset = 0, alignLog2 = 4) => [...simd(0x0b), alignLog2, ...leb(offset)];
/** v128.load32_splat: one float32 from memory into all four lanes. */
export const v128Load32Splat = (offset = 0) => [...simd(0x09), 0x02, ...leb(offset)];
/** v128.const of four i32 lanes. */
export const i32x4Const = (lanes: [number, number, number, number]) => [
  ...simd(0x0c),
  ...new Uint8Array(Int32Array.from(lanes).buffer),
];
export const V128_ZERO = i32x4Const([0, 0, 0, 0]);
export const I8X16_SWIZZLE = simd(0x0e);
export const I32X4_BITMASK = simd(0xa4);
export const I32X4_ADD = simd(0xae);
export const I32_POPCNT = 0x69;
export const F32X4_NE = simd(0x42);
export const V128_ANY_TRUE = simd(0x53);
export const F32X4_ADD = simd(0xe4);
export const F32X4_MUL = simd(0xe6);
/** f32x4.pmax(a, b) = b > a ? b : a, lane-wise (x86 `maxps`). */
export const F32X4_PMAX = simd(0xeb);

/** `block { loop { if (get(a) >= get(b)) break; ...body; br loop } }` (unsigned comparison). */
export function whileLess(a: number, b: number, body: number[]): number[] {
  // prettier-ignore
  return [
    0x02, 0x40, // block
    0x03, 0x40, // loop
    ...get(a), ...get(b), I32_GE_U, 0x0d, 0x01, // br_if out of the block
    ...body,
    0x0c, 0x00, // br to the loop start
    0x0b, // end loop
    0x0b, // end block
  ];
}

/** `local[i] += n` (i32). */
export const increment = (i: number, n: number | number[]) => [
  ...get(i),
  ...(typeof n === 'number' ? i32Const(n) : n),
  I32_ADD,
  ...set(i),
];

/** The few WebAssembly APIs used (the project compiles without the DOM library's types). */
export interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number; maximum: number }) => { readonly buffer: ArrayBuffer };
}

export const wasmApi = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
