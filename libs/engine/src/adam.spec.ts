import { describe, expect, it } from 'vitest';
import { adamGradientBuffer, adamStep, createAdamState as createAdamStateOf } from './adam';
import { decodeAdamState, encodeAdamState } from './adam-state-codec';

/** torch.optim.Adam (weight_decay 0, amsgrad off) for one parameter, written out in float64. */
function torchAdam(p0: number, gs: number[], lr = 0.0005, b1 = 0.9, b2 = 0.999, eps = 1e-8): number {
  let p = p0;
  let m = 0;
  let v = 0;
  gs.forEach((g, i) => {
    const t = i + 1;
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * g * g;
    const denom = Math.sqrt(v) / Math.sqrt(1 - b2 ** t) + eps;
    p -= (lr / (1 - b1 ** t)) * (m / denom);
  });
  return p;
}

describe.each(['simd', 'js'] as const)('adamStep (%s)', (implementation) => {
  const createAdamState = (size: number) => createAdamStateOf(size, implementation);

  it('should move each parameter by lr against the sign of its gradient on step 1', () => {
    // Step 1: m = 0.1 g, v = 0.001 g^2, so (m / 0.1) / (sqrt(v) / sqrt(0.001) + eps) = g / (|g| + eps).
    const params = Float32Array.from([1, 2, -3, 0.25]);
    const grads = Float32Array.from([0.5, -1, 2, 0]);
    const state = createAdamState(4);
    adamStep(params, grads, state);
    expect(state.t).toBe(1);
    expect(params[0]).toBeCloseTo(1 - 0.0005 * (0.5 / (0.5 + 1e-8)), 7);
    expect(params[1]).toBeCloseTo(2 + 0.0005 * (1 / (1 + 1e-8)), 7);
    expect(params[2]).toBeCloseTo(-3 - 0.0005 * (2 / (2 + 1e-8)), 7);
    expect(params[3]).toBe(0.25); // g = 0: m = 0, no move
    expect(state.m[1]).toBeCloseTo(0.1 * -1, 7);
    expect(state.v[2]).toBeCloseTo(0.001 * 2 * 2, 9);
  });

  it('should follow the PyTorch formula over three steps', () => {
    const p0 = [1, 2, -3, 0.25, 0];
    const steps = [
      [0.5, -1, 2, 0, 1e-4],
      [0.25, 3, -2, 0.1, 1e-4],
      [-0.5, 0.5, 0.001, -0.2, -3e-4],
    ];
    const params = Float32Array.from(p0);
    const state = createAdamState(p0.length);
    for (const g of steps) adamStep(params, Float32Array.from(g), state, { learningRate: 0.01 });
    expect(state.t).toBe(3);
    p0.forEach((p, i) => {
      const expected = torchAdam(
        p,
        steps.map((g) => Math.fround(g[i])),
        0.01,
      );
      expect(Math.abs(params[i] - expected)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(expected)));
    });
  });

  it('should honour custom betas and eps', () => {
    const params = Float32Array.from([1]);
    const state = createAdamState(1);
    const opts = { learningRate: 0.1, beta1: 0.5, beta2: 0.75, epsilon: 0.01 };
    adamStep(params, Float32Array.from([2]), state, opts);
    adamStep(params, Float32Array.from([-1]), state, opts);
    expect(params[0]).toBeCloseTo(torchAdam(1, [2, -1], 0.1, 0.5, 0.75, 0.01), 6);
  });

  it('should reject arrays of different lengths, naming the function', () => {
    expect(() => adamStep(new Float32Array(3), new Float32Array(2), createAdamState(3))).toThrow(/adamStep:/);
  });
});

describe('createAdamState', () => {
  it('should give the SIMD and the JavaScript update the same numbers (float32 vs float64 arithmetic)', () => {
    const n = 1001; // not a multiple of the 4 SIMD lanes
    const start = Float32Array.from({ length: n }, (_, i) => Math.sin(i));
    const simd = { p: start.slice(), s: createAdamStateOf(n, 'simd') };
    const js = { p: start.slice(), s: createAdamStateOf(n, 'js') };
    for (let step = 0; step < 10; step++) {
      const g = Float32Array.from({ length: n }, (_, i) => Math.cos(i * (step + 1)) * 10 ** ((i % 7) - 3));
      adamStep(simd.p, g, simd.s);
      adamStep(js.p, g, js.s);
    }
    for (let i = 0; i < n; i++) expect(Math.abs(simd.p[i] - js.p[i])).toBeLessThan(1e-6);
    expect(simd.s.t).toBe(10);
  });

  it('should offer the SIMD staging area for gradients, and none for a JavaScript state', () => {
    const state = createAdamStateOf(5, 'simd');
    const buffer = adamGradientBuffer(state);
    expect(buffer?.length).toBe(5);
    buffer!.set([1, 1, 1, 1, 1]);
    const params = new Float32Array(5);
    adamStep(params, buffer!, state);
    expect(params[0]).toBeCloseTo(-0.0005, 7);
    expect(adamGradientBuffer(createAdamStateOf(5, 'js'))).toBeUndefined();
  });

  it('should fall back to the JavaScript loop when the moment arrays are replaced', () => {
    const state = createAdamStateOf(3, 'simd');
    state.m = new Float32Array(3);
    state.v = new Float32Array(3);
    const params = Float32Array.from([1, 1, 1]);
    adamStep(params, Float32Array.from([1, -1, 0]), state);
    expect(state.m[0]).toBeCloseTo(0.1, 7);
    expect(params[1]).toBeCloseTo(1 + 0.0005, 7);
  });
});

describe('encodeAdamState', () => {
  it('should round-trip through decodeAdamState', () => {
    const state = { m: Float32Array.from([1.5, -2, 3e-8]), v: Float32Array.from([0, 4, 1e-12]), t: 17 };
    const back = decodeAdamState(encodeAdamState(state));
    expect(back.t).toBe(17);
    expect(back.m).toEqual(state.m);
    expect(back.v).toEqual(state.v);
  });

  it('should decode from an unaligned view', () => {
    const bytes = encodeAdamState({ m: Float32Array.from([1, 2]), v: Float32Array.from([3, 4]), t: 2 });
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    expect(decodeAdamState(shifted.subarray(1)).v).toEqual(Float32Array.from([3, 4]));
  });
});

describe('decodeAdamState', () => {
  it('should reject bytes that are not an Adam state', () => {
    expect(() => decodeAdamState(new Uint8Array(30))).toThrow(/decodeAdamState:/);
  });
});
