/**
 * A WebAssembly SIMD kernel (4 float32 lanes) that embeds SPARSE cells with the MLP, visiting
 * only each cell's non-zero genes: h = relu(b1 + sum_{g: x_g != 0} x_g W1[g, :]), then
 * y = b2 + h W2. At 10% non-zero genes the first layer is a tenth of the dense product's
 * multiply-adds. Assembled here from its bytes (like `adam-simd-kernel.ts`), nothing compiled
 * by a toolchain or downloaded.
 *
 * Every cell is computed on its own, in a fixed order: h_j starts at b1_j and adds
 * x_g W1[g, j] gene by gene in increasing gene order (a float32 multiply, then a float32 add:
 * no fused multiply-add, so the bits are the same on every machine); y_k starts at b2_k and
 * adds relu(h_j) W2[j, k] for j = 0 .. H-1. A cell's embedding therefore does not depend on
 * the other cells of a call, nor on how calls are cut. It differs from the dense product
 * (another summation order) by float rounding only.
 *
 * Speed: W1 is stored in blocks of 24 hidden units (block b: F x 24 floats, contiguous; H is
 * padded with zero units to whole blocks). For each block, each cell's non-zero genes add
 * their 96-byte row of the block into 6 float32x4 accumulators held in registers (8 of them
 * did not fit V8's registers next to the loaded rows: it spilled one, ~2x slower). The
 * genes are further cut into chunks of ~256 KB of a block (one chunk up to F ~ 2,700) and
 * the cells of a call go through one chunk of one block at a time, so the rows they read stay
 * in the L2 cache even when W1 is far larger (F = 20,000: 40 MB); the partial sums wait in the
 * hidden-layer area between chunks (stored as float32, so the order and bits are unchanged).
 * Staging a row (`stage`) copies it into the kernel memory and packs its non-zero entries
 * branch-free, four genes at a time, with a byte shuffle chosen by their non-zero mask.
 *
 * Memory layout (one `WebAssembly.Memory` per kernel, fixed size): blocked W1, b1 (padded),
 * W2 (H x E4, E padded to a multiple of 4 with zero columns), b2 (E4), the shuffle table, then
 * the staging area of a call: one input row, the per-cell chunk pointers, the gene offsets and
 * values of the non-zero entries, the hidden layer and the output of up to `rowsPerCall` cells.
 */
import {
  F32X4_ADD,
  F32X4_MUL,
  F32X4_NE,
  F32X4_PMAX,
  get,
  I32,
  I32_ADD,
  I32_GT_S,
  I32_MUL,
  I32_POPCNT,
  I32_SHL,
  I32X4_ADD,
  I32X4_BITMASK,
  i32Const,
  i32Load,
  i32x4Const,
  I8X16_SWIZZLE,
  ifThen,
  increment,
  leb,
  name,
  RETURN,
  section,
  set,
  V128,
  V128_ZERO,
  v128Load,
  v128Load32Splat,
  v128Store,
  wasmApi,
  whileLess,
} from '@fl/wasm-kit';
import { parameterLayout, type ModelShape } from './model-shape';
import { validateShape } from './validate-shape';

/** Hidden units per block of W1 (6 float32x4 accumulators, a 96-byte row of the block). */
const BLOCK = 24;
const BLOCK_VECTORS = BLOCK / 4;
const BLOCK_BYTES = BLOCK * 4;
/** Bytes of a block of W1 per gene chunk (the rows one pass over the cells of a call reads). */
const CHUNK_BYTES = 256 * 1024;

// Parameters of the exported function `embed` (i32 byte offsets, byte sizes or counts).
const [N, PTR, IDX, VAL, HID, OUT, W1, B1, W2, B2, NB, BLOCK_STRIDE, HP_BYTES, H_BYTES, EP_BYTES] = [
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
];
const [CHUNK_END, PTR_STRIDE] = [15, 16];
const N_PARAMS = 17;
// i32 locals
const [BLK, CELL, K, K_END, W_BLK, COL, P, Q, CHUNK] = [17, 18, 19, 20, 21, 22, 23, 24, 25];
const N_I32_LOCALS = 9;
const S = N_PARAMS + N_I32_LOCALS; // v128: the splat input value
const ACC = S + 1; // v128 x BLOCK_VECTORS: hidden accumulators; reused as output accumulators

/**
 * The module for outputs of `ev` float32x4 vectors (E4 = 4 ev), exporting
 *
 * embed(n, ptr, idx, val, hid, out, w1, b1, w2, b2, nBlocks, blockStride, hpBytes, hBytes,
 *       epBytes, chunkEnd, ptrStride)
 *   ptr: per cell, nChunks + 1 i32 byte offsets into idx / val (ptrStride bytes a cell; chunk
 *   c of cell i: entries [ptr[i][c], ptr[i][c+1])); chunkEnd = 4 nChunks;
 *   idx: each entry's gene g as the byte offset of its row in a W1 block (g x 96);
 *   val: its value (f32); hid: n x Hp floats (scratch); out: n x E4 floats.
 *
 * stage(src, end, idx, val, pos, limit, table) -> pos' or -1 (see STAGE_BODY).
 */
function moduleBytes(ev: number): Uint8Array {
  const nAcc = Math.max(BLOCK_VECTORS, ev);
  const acc = (i: number) => ACC + i;
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  // prettier-ignore
  const init = [
    // hid[cell, :] = b1 for every cell
    ...i32Const(0), ...set(CELL),
    ...whileLess(CELL, N, [
      ...get(HID), ...get(CELL), ...get(HP_BYTES), I32_MUL, I32_ADD, ...set(P),
      ...i32Const(0), ...set(Q),
      ...whileLess(Q, HP_BYTES, [
        ...get(P), ...get(Q), I32_ADD, ...get(B1), ...get(Q), I32_ADD, ...v128Load(0), ...v128Store(0),
        ...increment(Q, 16),
      ]),
      ...increment(CELL, 1),
    ]),
  ];
  // prettier-ignore
  const layer1 = [
    ...i32Const(0), ...set(BLK),
    ...get(W1), ...set(W_BLK),
    ...i32Const(0), ...set(COL),
    ...whileLess(BLK, NB, [
      ...i32Const(0), ...set(CHUNK),
      ...whileLess(CHUNK, CHUNK_END, [
        ...i32Const(0), ...set(CELL),
        ...whileLess(CELL, N, [
          // accumulators = hid[cell, block] (b1, or the sums of the earlier chunks)
          ...get(HID), ...get(CELL), ...get(HP_BYTES), I32_MUL, I32_ADD, ...get(COL), I32_ADD, ...set(Q),
          ...range(BLOCK_VECTORS).flatMap((i) => [...get(Q), ...v128Load(16 * i), ...set(acc(i))]),
          // this cell's entries in this chunk
          ...get(PTR), ...get(CELL), ...get(PTR_STRIDE), I32_MUL, I32_ADD, ...get(CHUNK), I32_ADD, ...set(P),
          ...get(P), ...i32Load(0), ...set(K),
          ...get(P), ...i32Load(4), ...set(K_END),
          ...whileLess(K, K_END, [
            ...get(VAL), ...get(K), I32_ADD, ...v128Load32Splat(0), ...set(S),
            ...get(IDX), ...get(K), I32_ADD, ...i32Load(0), ...get(W_BLK), I32_ADD, ...set(P),
            ...range(BLOCK_VECTORS).flatMap((i) => [
              ...get(acc(i)), ...get(S), ...get(P), ...v128Load(16 * i), ...F32X4_MUL, ...F32X4_ADD, ...set(acc(i)),
            ]),
            ...increment(K, 4),
          ]),
          ...range(BLOCK_VECTORS).flatMap((i) => [...get(Q), ...get(acc(i)), ...v128Store(16 * i)]),
          ...increment(CELL, 1),
        ]),
        ...increment(CHUNK, 4),
      ]),
      ...increment(BLK, 1),
      ...increment(W_BLK, get(BLOCK_STRIDE)),
      ...increment(COL, BLOCK_BYTES),
    ]),
  ];
  // prettier-ignore
  const layer2 = [
    ...i32Const(0), ...set(CELL),
    ...whileLess(CELL, N, [
      ...range(ev).flatMap((u) => [...get(B2), ...v128Load(16 * u), ...set(acc(u))]),
      ...get(HID), ...get(CELL), ...get(HP_BYTES), I32_MUL, I32_ADD, ...set(P),
      ...get(P), ...get(H_BYTES), I32_ADD, ...set(K_END),
      ...get(W2), ...set(Q),
      ...whileLess(P, K_END, [
        // s = relu(h_j) in every lane
        ...V128_ZERO, ...get(P), ...v128Load32Splat(0), ...F32X4_PMAX, ...set(S),
        ...range(ev).flatMap((u) => [
          ...get(acc(u)), ...get(S), ...get(Q), ...v128Load(16 * u), ...F32X4_MUL, ...F32X4_ADD, ...set(acc(u)),
        ]),
        ...increment(P, 4),
        ...increment(Q, get(EP_BYTES)),
      ]),
      ...get(OUT), ...get(CELL), ...get(EP_BYTES), I32_MUL, I32_ADD, ...set(P),
      ...range(ev).flatMap((u) => [...get(P), ...get(acc(u)), ...v128Store(16 * u)]),
      ...increment(CELL, 1),
    ]),
  ];
  const embedBody = [
    ...[0x02, ...leb(N_I32_LOCALS), I32, ...leb(1 + nAcc), V128], // locals
    ...init,
    ...layer1,
    ...layer2,
    0x0b,
  ];
  // prettier-ignore
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [
      0x02,
      0x60, N_PARAMS, ...new Array<number>(N_PARAMS).fill(I32), 0x00,
      0x60, 0x07, I32, I32, I32, I32, I32, I32, I32, 0x01, I32,
    ]),
    ...section(2, [0x01, ...name('env'), ...name('memory'), 0x02, 0x00, 0x01]),
    ...section(3, [0x02, 0x00, 0x01]),
    ...section(7, [0x02, ...name('embed'), 0x00, 0x00, ...name('stage'), 0x00, 0x01]),
    ...section(10, [0x02, ...leb(embedBody.length), ...embedBody, ...leb(STAGE_BODY.length), ...STAGE_BODY]),
  ]);
}

// stage(src, end, idx, val, pos, limit, table) -> pos' or -1: appends the non-zero entries of
// the row at byte offset `src` (`end` bytes, zero-padded to whole vectors) at byte offset `pos`
// of the entry arrays idx (gene x BLOCK_BYTES, i32) and val (f32), in gene order; -1 once past
// `limit` (it may write up to 3 entries past `limit`). An entry is non-zero if x != 0 (NaN
// included, -0 not, as `x !== 0`). Branch-free: each group of 4 genes is packed with a
// byte shuffle looked up by its non-zero mask in `table` (16 x 16 bytes, `SHUFFLE_TABLE`).
const [SRC, END, IDX_BASE, VAL_BASE, POS, LIMIT, TABLE, G, M, GENES, V, SH] = [
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
];
// prettier-ignore
const STAGE_BODY = [
  0x02, 0x02, I32, 0x03, V128, // locals: G, M (i32), GENES, V, SH (v128)
  ...i32x4Const([0, BLOCK_BYTES, 2 * BLOCK_BYTES, 3 * BLOCK_BYTES]), ...set(GENES),
  ...whileLess(G, END, [
    ...get(SRC), ...get(G), I32_ADD, ...v128Load(0), ...set(V),
    ...get(V), ...V128_ZERO, ...F32X4_NE, ...I32X4_BITMASK, ...set(M),
    ...get(TABLE), ...get(M), ...i32Const(4), I32_SHL, I32_ADD, ...v128Load(0), ...set(SH),
    ...get(VAL_BASE), ...get(POS), I32_ADD, ...get(V), ...get(SH), ...I8X16_SWIZZLE, ...v128Store(0, 2),
    ...get(IDX_BASE), ...get(POS), I32_ADD, ...get(GENES), ...get(SH), ...I8X16_SWIZZLE, ...v128Store(0, 2),
    ...get(POS), ...get(M), I32_POPCNT, ...i32Const(2), I32_SHL, I32_ADD, ...set(POS),
    ...get(POS), ...get(LIMIT), I32_GT_S, ...ifThen([...i32Const(-1), RETURN]),
    ...get(GENES), ...i32x4Const([4 * BLOCK_BYTES, 4 * BLOCK_BYTES, 4 * BLOCK_BYTES, 4 * BLOCK_BYTES]), ...I32X4_ADD, ...set(GENES),
    ...increment(G, 16),
  ]),
  ...get(POS),
  0x0b,
];

/** Byte shuffles packing the non-zero lanes of a group of 4 first, by lane mask (bit l: lane l). */
const SHUFFLE_TABLE = (() => {
  const table = new Uint8Array(256).fill(0x80);
  for (let m = 0; m < 16; m++) {
    let k = 0;
    for (let l = 0; l < 4; l++) {
      if ((m >> l) & 1) {
        for (let b = 0; b < 4; b++) table[16 * m + 4 * k + b] = 4 * l + b;
        k++;
      }
    }
  }
  return table;
})();

type EmbedFunction = (...args: number[]) => void;
type StageFunction = (
  src: number,
  end: number,
  idx: number,
  val: number,
  pos: number,
  limit: number,
  table: number,
) => number;

const compiled = new Map<number, object | null>();

function compiledModule(ev: number): object | null {
  let module = compiled.get(ev);
  if (module === undefined) {
    try {
      const bytes = moduleBytes(ev);
      module = wasmApi !== undefined && wasmApi.validate(bytes) ? new wasmApi.Module(bytes) : null;
    } catch {
      module = null;
    }
    compiled.set(ev, module);
  }
  return module;
}

/** Whether WebAssembly SIMD is available here (the sparse kernel can run). */
export function sparseKernelAvailable(): boolean {
  return compiledModule(1) !== null;
}

const align16 = (n: number) => Math.ceil(n / 16) * 16;

/**
 * Default cells per kernel call. Each call reads the W1 rows of its cells' genes once per
 * block: the more cells share that pass, the more reads hit the cache. At F = 20,000 (10%
 * non-zero) 64 cells a call ran at ~240 us a cell, 256 at ~140, 512 at ~120; at F = 2,000 it
 * hardly matters.
 */
export const DEFAULT_SPARSE_ROWS_PER_CALL = 256;

export interface SparseKernelOptions {
  /** Most cells per `run` (default {@link DEFAULT_SPARSE_ROWS_PER_CALL}). */
  rowsPerCall?: number;
  /** Genes per chunk (default: ~256 KB of a W1 block). Does not change results. */
  chunkGenes?: number;
  /**
   * Non-zero entries staged per call at most (default: room for `rowsPerCall` rows with 1/6
   * of their genes non-zero; at least maxRowNnz).
   */
  entryCapacity?: number;
}

/**
 * One model's parameters in a sparse kernel's memory (copied once), and the staging of the
 * cells of the next call. Usage: `stageRow` cells until `full` (or the input ends), then `run`.
 */
export class SparseEmbedKernel {
  /** Cells whose rows have more non-zero entries than this are refused by `stageRow`. */
  readonly maxRowNnz: number;
  /** Most cells per `run`. */
  readonly rowsPerCall: number;
  /** Floats per output row (E padded to a multiple of 4). */
  readonly outStride: number;
  private readonly shape: ModelShape;
  private readonly layout: KernelLayout;
  private readonly embedFn: EmbedFunction;
  private readonly stageFn: StageFunction;
  private readonly args: number[];
  private readonly row: Float32Array;
  private readonly w1: Float32Array;
  private readonly b1: Float32Array;
  private readonly w2: Float32Array;
  private readonly b2: Float32Array;
  private readonly ptr: Int32Array;
  private readonly idx: Int32Array;
  private readonly out: Float32Array;
  private rows = 0;
  private entries = 0;
  private memory: WasmMemory | undefined;

  private constructor(
    params: Float32Array,
    shape: ModelShape,
    maxRowNnz: number,
    layout: KernelLayout,
    exports: Record<string, unknown>,
    buffer: ArrayBuffer,
  ) {
    const { inputSize: f, hiddenSize: h, embeddingSize: e } = shape;
    this.shape = { ...shape };
    this.maxRowNnz = maxRowNnz;
    this.layout = layout;
    this.rowsPerCall = layout.rowsPerCall;
    this.outStride = layout.ep;
    this.embedFn = exports.embed as EmbedFunction;
    this.stageFn = exports.stage as StageFunction;
    new Uint8Array(buffer, layout.table, SHUFFLE_TABLE.length).set(SHUFFLE_TABLE);
    const floats = (offset: number, n: number) => new Float32Array(buffer, offset, n);
    this.row = floats(layout.row, f);
    this.w1 = floats(layout.w1, layout.nb * f * BLOCK);
    this.b1 = floats(layout.b1, layout.hp);
    this.w2 = floats(layout.w2, h * layout.ep);
    this.b2 = floats(layout.b2, layout.ep);
    this.ptr = new Int32Array(buffer, layout.ptr, layout.rowsPerCall * (layout.nChunks + 1));
    this.idx = new Int32Array(buffer, layout.idx, layout.entryCapacity + 4);
    this.out = floats(layout.out, layout.rowsPerCall * layout.ep);
    this.args = [
      0,
      layout.ptr,
      layout.idx,
      layout.val,
      layout.hid,
      layout.out,
      layout.w1,
      layout.b1,
      layout.w2,
      layout.b2,
      layout.nb,
      f * BLOCK_BYTES,
      layout.hp * 4,
      h * 4,
      layout.ep * 4,
      layout.nChunks * 4,
      (layout.nChunks + 1) * 4,
    ];
    // W1 (F x H row-major) into blocks of BLOCK hidden units, each F x BLOCK (copies of
    // subarrays: a plain loop runs unoptimised for its first ~100 ms).
    const L = parameterLayout(shape);
    const w1 = this.w1;
    for (let g = 0; g < f; g++) {
      const row = L.w1.offset + g * h;
      for (let b = 0, j = 0; j < h; b++, j += BLOCK) {
        w1.set(params.subarray(row + j, row + Math.min(h, j + BLOCK)), (b * f + g) * BLOCK);
      }
    }
    this.b1.set(params.subarray(L.b1.offset, L.b1.offset + h));
    for (let j = 0; j < h; j++) {
      this.w2.set(params.subarray(L.w2.offset + j * e, L.w2.offset + (j + 1) * e), j * layout.ep);
    }
    this.b2.set(params.subarray(L.b2.offset, L.b2.offset + e));
  }

  /**
   * A kernel holding a copy of `params`, or undefined where WebAssembly SIMD is not available
   * or its memory (~4 F H bytes for W1, plus the staging area) cannot be had.
   *
   * @param maxRowNnz most non-zero genes of a row the kernel takes (`stageRow`), 0 .. F
   */
  static create(
    params: Float32Array,
    shape: ModelShape,
    maxRowNnz: number,
    options: SparseKernelOptions = {},
  ): SparseEmbedKernel | undefined {
    validateShape(shape, 'SparseEmbedKernel');
    const f = shape.inputSize;
    const total = parameterLayout(shape).total;
    if (!(params instanceof Float32Array) || params.length !== total) {
      throw new Error(
        `SparseEmbedKernel: params must be a Float32Array of length ${total}, got ${params?.length}`,
      );
    }
    if (!Number.isInteger(maxRowNnz) || maxRowNnz < 0 || maxRowNnz > f) {
      throw new Error(`SparseEmbedKernel: maxRowNnz must be an integer in 0 .. F, got ${maxRowNnz}`);
    }
    const {
      rowsPerCall = DEFAULT_SPARSE_ROWS_PER_CALL,
      chunkGenes = Math.floor(CHUNK_BYTES / BLOCK_BYTES),
      entryCapacity = rowsPerCall * Math.ceil(f / 6),
    } = options;
    for (const [key, value] of Object.entries({ rowsPerCall, chunkGenes, entryCapacity })) {
      if (!Number.isInteger(value) || value < 1) {
        throw new Error(`SparseEmbedKernel: ${key} must be a positive integer, got ${value}`);
      }
    }
    if (wasmApi === undefined) return undefined;
    const layout = kernelLayout(shape, {
      rowsPerCall,
      nChunks: Math.ceil(f / chunkGenes),
      chunkGenes,
      entryCapacity: Math.max(maxRowNnz, Math.min(entryCapacity, rowsPerCall * maxRowNnz)),
    });
    const module = compiledModule(layout.ep / 4);
    // Offsets are passed as (signed) i32: keep the memory under 2 GB (F x H up to ~500 M).
    if (module === null || layout.bytes > 0x7fffffff) return undefined;
    const pages = Math.ceil(layout.bytes / 65536);
    try {
      const memory = kernelMemory(pages, layout.bytes);
      const instance = new wasmApi.Instance(module, { env: { memory } });
      const kernel = new SparseEmbedKernel(params, shape, maxRowNnz, layout, instance.exports, memory.buffer);
      kernel.memory = memory;
      return kernel;
    } catch (error) {
      if (error instanceof RangeError) return undefined; // no memory for it: embed densely
      throw error;
    }
  }

  /**
   * Hands the kernel's memory to the next kernel created in this thread (fresh memory costs
   * ~3 ms per MB in page faults on our VMs, 130 ms for W1 at F = 20,000). The kernel must not
   * be used afterwards. Idempotent.
   */
  release(): void {
    if (this.memory === undefined) return;
    released = this.memory;
    this.memory = undefined;
  }

  /** Cells staged for the next `run`. */
  get staged(): number {
    return this.rows;
  }

  /** Whether `stageRow` may refuse a row for lack of room: `run` first. */
  get full(): boolean {
    return this.rows === this.rowsPerCall || this.entries + this.maxRowNnz > this.layout.entryCapacity;
  }

  /**
   * Stages the row values[offset .. offset + F) for the next `run`, unless it has more than
   * `maxRowNnz` non-zero entries (then nothing is staged and it returns false). Call only when
   * not `full`.
   */
  stageRow(values: Float32Array, offset: number): boolean {
    const L = this.layout;
    this.row.set(values.subarray(offset, offset + this.shape.inputSize));
    const start = 4 * this.entries;
    const end = this.stageFn(L.row, L.rowBytes, L.idx, L.val, start, start + 4 * this.maxRowNnz, L.table);
    if (end < 0) return false;
    // chunk boundaries of this row's entries (gene order), by binary search
    const nChunks = L.nChunks;
    const base = this.rows * (nChunks + 1);
    const ptr = this.ptr;
    const idx = this.idx;
    ptr[base] = start;
    let lo = start / 4;
    const stop = end / 4;
    for (let c = 1; c < nChunks; c++) {
      const code = c * L.chunkGenes * BLOCK_BYTES;
      let hi = stop;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (idx[mid] < code) lo = mid + 1;
        else hi = mid;
      }
      ptr[base + c] = 4 * lo;
    }
    ptr[base + nChunks] = end;
    this.entries = stop;
    this.rows++;
    return true;
  }

  /**
   * Embeds the staged cells and clears the staging.
   *
   * @returns their embeddings, staged x `outStride` (only the first E of each row are
   *   meaningful); a view of the kernel's memory, valid until the next `run`
   */
  run(): Float32Array {
    const n = this.rows;
    this.args[N] = n;
    if (n > 0) this.embedFn(...this.args);
    this.rows = 0;
    this.entries = 0;
    return this.out.subarray(0, n * this.outStride);
  }

  /**
   * The flat parameters (`parameterLayout`), rebuilt from the kernel's copy.
   *
   * @param out where to write them (`parameterLayout(shape).total` floats); default a new array
   */
  parameters(out?: Float32Array): Float32Array {
    const { inputSize: f, hiddenSize: h, embeddingSize: e } = this.shape;
    const L = parameterLayout(this.shape);
    if (out !== undefined && out.length !== L.total) {
      throw new Error(`SparseEmbedKernel.parameters: out must hold ${L.total} floats, got ${out.length}`);
    }
    const params = out ?? new Float32Array(L.total);
    const w1 = this.w1;
    for (let g = 0; g < f; g++) {
      const row = L.w1.offset + g * h;
      for (let b = 0, j = 0; j < h; b++, j += BLOCK) {
        const src = (b * f + g) * BLOCK;
        params.set(w1.subarray(src, src + Math.min(BLOCK, h - j)), row + j);
      }
    }
    params.set(this.b1.subarray(0, h), L.b1.offset);
    const ep = this.outStride;
    for (let j = 0; j < h; j++) params.set(this.w2.subarray(j * ep, j * ep + e), L.w2.offset + j * e);
    params.set(this.b2.subarray(0, e), L.b2.offset);
    return params;
  }
}

type WasmMemory = InstanceType<NonNullable<typeof wasmApi>['Memory']>;

/** The memory of the last released kernel of this thread, for the next one to reuse. */
let released: WasmMemory | undefined;

/**
 * A fixed-size memory of `pages` pages whose first `bytes` are zero: the released one if its
 * size is close enough (it is zeroed: a memset of pages already mapped is far cheaper than
 * page faults), else a fresh one.
 */
function kernelMemory(pages: number, bytes: number): WasmMemory {
  const reuse = released;
  released = undefined;
  if (reuse !== undefined) {
    const size = reuse.buffer.byteLength / 65536;
    if (size >= pages && size <= 2 * pages + 16) {
      new Uint8Array(reuse.buffer, 0, bytes).fill(0);
      return reuse;
    }
  }
  return new wasmApi!.Memory({ initial: pages, maximum: pages });
}

interface KernelLayout {
  rowsPerCall: number;
  nChunks: number;
  chunkGenes: number;
  entryCapacity: number;
  nb: number;
  hp: number;
  ep: number;
  rowBytes: number;
  // byte offsets
  w1: number;
  b1: number;
  w2: number;
  b2: number;
  table: number;
  row: number;
  ptr: number;
  idx: number;
  val: number;
  hid: number;
  out: number;
  bytes: number;
}

function kernelLayout(
  shape: ModelShape,
  sizes: { rowsPerCall: number; nChunks: number; chunkGenes: number; entryCapacity: number },
): KernelLayout {
  const { inputSize: f, hiddenSize: h, embeddingSize: e } = shape;
  const { rowsPerCall, nChunks, entryCapacity } = sizes;
  const nb = Math.ceil(h / BLOCK);
  const hp = nb * BLOCK;
  const ep = Math.ceil(e / 4) * 4;
  const rowBytes = align16(f * 4); // zero padding to whole vectors
  let at = 0;
  const take = (bytes: number) => {
    const offset = at;
    at += align16(bytes);
    return offset;
  };
  const offsets = {
    w1: take(nb * f * BLOCK_BYTES),
    b1: take(hp * 4),
    w2: take(h * ep * 4),
    b2: take(ep * 4),
    table: take(SHUFFLE_TABLE.length),
    row: take(rowBytes),
    ptr: take(rowsPerCall * (nChunks + 1) * 4),
    // `stage` may write up to 3 entries past a row's limit
    idx: take((entryCapacity + 4) * 4),
    val: take((entryCapacity + 4) * 4),
    hid: take(rowsPerCall * hp * 4),
    out: take(rowsPerCall * ep * 4),
  };
  return { ...sizes, nb, hp, ep, rowBytes, ...offsets, bytes: Math.max(at, 16) };
}
