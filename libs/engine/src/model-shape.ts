/**
 * The scPrivacy MLP: Linear(F, H) -> ReLU -> Linear(H, E).
 *
 * Parameters travel as ONE flat Float32Array (what institutions average), laid out as
 *   W1: F x H, row-major (W1[f * H + h]),  b1: H,  W2: H x E, row-major,  b2: E.
 * i.e. the transpose of PyTorch's `nn.Linear.weight` (out x in), so `x @ W1` needs no transpose.
 */
export interface ModelShape {
  inputSize: number;
  hiddenSize: number;
  embeddingSize: number;
}

export const DEFAULT_HIDDEN_SIZE = 500;
export const DEFAULT_EMBEDDING_SIZE = 20;

export interface ParameterLayout {
  w1: { offset: number; length: number };
  b1: { offset: number; length: number };
  w2: { offset: number; length: number };
  b2: { offset: number; length: number };
  total: number;
}

export function parameterLayout(shape: ModelShape): ParameterLayout {
  const { inputSize: f, hiddenSize: h, embeddingSize: e } = shape;
  const w1 = { offset: 0, length: f * h };
  const b1 = { offset: w1.length, length: h };
  const w2 = { offset: b1.offset + h, length: h * e };
  const b2 = { offset: w2.offset + w2.length, length: e };
  return { w1, b1, w2, b2, total: b2.offset + e };
}
