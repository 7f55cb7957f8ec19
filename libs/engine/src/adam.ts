import { adamSimdKernel, type AdamSimdFunction } from './adam-simd-kernel';

/** Adam hyper-parameters (PyTorch names and defaults of the published code). */
export interface AdamOptions {
  /** Learning rate, default 0.0005. */
  learningRate?: number;
  /** beta1, default 0.9. */
  beta1?: number;
  /** beta2, default 0.999. */
  beta2?: number;
  /** eps, default 1e-8. */
  epsilon?: number;
}

/**
 * One optimiser's state: first and second moments and the number of steps taken. From
 * {@link createAdamState}, `m` and `v` are views into the memory of a WebAssembly kernel: update
 * them in place (`set`), copy them (`slice`) to keep or send them, and do not post the views
 * themselves to another thread (that would copy the whole kernel memory).
 */
export interface AdamState {
  m: Float32Array;
  v: Float32Array;
  /** Steps taken so far (PyTorch's `state['step']`). */
  t: number;
}

export const ADAM_DEFAULTS: Required<AdamOptions> = {
  learningRate: 0.0005,
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-8,
};

/** The SIMD kernel of a state and its staging areas for parameters and gradients. */
interface Kernel {
  run: AdamSimdFunction;
  p: Float32Array;
  g: Float32Array;
  m: Float32Array;
  v: Float32Array;
  /** Byte offsets in the kernel memory; arrays are padded to whole 4-lane vectors. */
  offsets: { p: number; g: number; m: number; v: number };
  paddedBytes: number;
}

const kernels = new WeakMap<AdamState, Kernel>();

/**
 * Fresh Adam state (zero moments, t = 0) for `size` parameters.
 *
 * @param implementation 'simd' (default where WebAssembly SIMD is available: the moments live in
 *   the kernel's memory, along with staging copies of parameters and gradients, 4 x size floats
 *   in all) or 'js' (plain arrays, float64 arithmetic per element)
 */
export function createAdamState(size: number, implementation: 'simd' | 'js' = 'simd'): AdamState {
  if (!Number.isInteger(size) || size < 0) {
    throw new Error(`createAdamState: size must be a non-negative integer, got ${size}`);
  }
  if (implementation === 'simd') {
    const padded = Math.ceil(size / 4) * 4;
    const bytes = 4 * padded;
    const pages = Math.max(1, Math.ceil((4 * bytes) / 65536));
    if (pages <= 65536) {
      const kernel = adamSimdKernel(pages);
      if (kernel !== undefined) {
        const { run, buffer } = kernel;
        const view = (k: number) => new Float32Array(buffer, k * bytes, size);
        const state: AdamState = { m: view(2), v: view(3), t: 0 };
        kernels.set(state, {
          run,
          p: view(0),
          g: view(1),
          m: state.m,
          v: state.v,
          offsets: { p: 0, g: bytes, m: 2 * bytes, v: 3 * bytes },
          paddedBytes: bytes,
        });
        return state;
      }
    }
  }
  return { m: new Float32Array(size), v: new Float32Array(size), t: 0 };
}

/**
 * A buffer to write the next step's gradients into, so that {@link adamStep} need not copy
 * them: the SIMD kernel's gradient staging area (undefined for a plain JavaScript state).
 */
export function adamGradientBuffer(state: AdamState): Float32Array | undefined {
  return kernelOf(state)?.g;
}

/**
 * One fused Adam step, in place, over flat parameters: a single pass does what PyTorch's
 * `torch.optim.Adam` (weight_decay 0, amsgrad off) does in several kernels:
 *
 *   t += 1;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 *   denom = sqrt(v) / sqrt(1 - b2^t) + eps;  p -= (lr / (1 - b1^t)) * m / denom
 *
 * With a SIMD state the arithmetic is float32 (as PyTorch's); with a 'js' state it is float64
 * per element, rounded to float32 where stored. Either way one pass over the arrays.
 *
 * @param params flat parameters (N), updated in place
 * @param grads gradients (N)
 * @param state moments (N each) and step count, updated in place
 */
export function adamStep(
  params: Float32Array,
  grads: Float32Array,
  state: AdamState,
  options: AdamOptions = {},
): void {
  const n = params.length;
  if (grads.length !== n || state.m.length !== n || state.v.length !== n) {
    throw new Error(
      `adamStep: params (${n}), grads (${grads.length}), m (${state.m.length}) and v (${state.v.length}) must have the same length`,
    );
  }
  const { learningRate: lr, beta1: b1, beta2: b2, epsilon: eps } = { ...ADAM_DEFAULTS, ...options };
  state.t += 1;
  const t = state.t;
  const stepSize = lr / (1 - Math.pow(b1, t));
  // Multiplying by the reciprocal instead of dividing by sqrt(1 - b2^t): same value to the last
  // bit or so, and cheaper.
  const invBiasCorrection2Sqrt = 1 / Math.sqrt(1 - Math.pow(b2, t));
  const kernel = kernelOf(state);
  if (kernel !== undefined) {
    if (grads !== kernel.g) kernel.g.set(grads);
    kernel.p.set(params);
    const o = kernel.offsets;
    kernel.run(
      kernel.paddedBytes,
      o.p,
      o.g,
      o.m,
      o.v,
      b1,
      b2,
      1 - b1,
      1 - b2,
      stepSize,
      invBiasCorrection2Sqrt,
      eps,
    );
    params.set(kernel.p);
    return;
  }
  const oneMinusB1 = 1 - b1;
  const oneMinusB2 = 1 - b2;
  const { m, v } = state;
  for (let i = 0; i < n; i++) {
    const g = grads[i];
    const mi = b1 * m[i] + oneMinusB1 * g;
    const vi = b2 * v[i] + oneMinusB2 * g * g;
    m[i] = mi;
    v[i] = vi;
    params[i] -= (stepSize * mi) / (Math.sqrt(vi) * invBiasCorrection2Sqrt + eps);
  }
}

/** The kernel of `state`, if it has one and still uses the kernel's own moment arrays. */
function kernelOf(state: AdamState): Kernel | undefined {
  const kernel = kernels.get(state);
  return kernel !== undefined && kernel.m === state.m && kernel.v === state.v ? kernel : undefined;
}
