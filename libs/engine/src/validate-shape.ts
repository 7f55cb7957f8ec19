import type { ModelShape } from './model-shape';

/** Throws (naming `fn`) unless every size of `shape` is a positive integer. */
export function validateShape(shape: ModelShape, fn: string): void {
  for (const key of ['inputSize', 'hiddenSize', 'embeddingSize'] as const) {
    const v = shape?.[key];
    if (!Number.isInteger(v) || v < 1) {
      throw new Error(`${fn}: shape.${key} must be a positive integer, got ${v}`);
    }
  }
}
