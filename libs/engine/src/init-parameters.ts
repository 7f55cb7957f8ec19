import { parameterLayout, type ModelShape } from './model-shape';
import { createRng, type RandomGenerator } from './rng';
import { validateShape } from './validate-shape';

/** 2^-24: turns the low 24 bits of a 32-bit draw into a float in [0, 1). */
const TWO_POW_MINUS_24 = 1 / 16777216;

/**
 * Initial parameters as PyTorch's `nn.Linear` default: every weight and bias of layer 1 from
 * U(-1/sqrt(F), 1/sqrt(F)), of layer 2 from U(-1/sqrt(H), 1/sqrt(H)).
 *
 * Draws 24-bit uniforms from a seeded xoroshiro128+ in flat-layout order (W1, b1, W2, b2), so the
 * result depends only on `shape` and `seed` (the values differ from PyTorch's generator).
 *
 * @param shape model shape (F, H, E)
 * @param seed integer seed
 * @returns flat parameters, length `parameterLayout(shape).total` (W1 F x H, b1 H, W2 H x E, b2 E)
 */
export function initParameters(shape: ModelShape, seed: number): Float32Array {
  validateShape(shape, 'initParameters');
  if (!Number.isSafeInteger(seed)) {
    throw new Error(`initParameters: seed must be a safe integer, got ${seed}`);
  }
  const layout = parameterLayout(shape);
  const params = new Float32Array(layout.total);
  const rng = createRng(seed);
  fillUniform(rng, params, 0, layout.w2.offset, 1 / Math.sqrt(shape.inputSize));
  fillUniform(rng, params, layout.w2.offset, layout.total, 1 / Math.sqrt(shape.hiddenSize));
  return params;
}

/** out[start..end) ~ U(-bound, bound), 24-bit resolution. */
function fillUniform(
  rng: RandomGenerator,
  out: Float32Array,
  start: number,
  end: number,
  bound: number,
): void {
  const scale = 2 * bound * TWO_POW_MINUS_24;
  for (let i = start; i < end; i++) {
    out[i] = (rng.next() & 0xffffff) * scale - bound;
  }
}
