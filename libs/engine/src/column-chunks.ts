import * as tf from '@tensorflow/tfjs-core';

/**
 * Uploads a row-major matrix as column slices (the input-side counterpart of the gene chunks
 * of W1): slice c holds columns bounds[c] .. bounds[c+1]-1 of every row. The slices are
 * gathered in JavaScript into `scratch` (strided slicing on the wasm backend is far slower;
 * reusing one buffer avoids fresh allocations, whose page faults are costly). With a single
 * slice, the matrix itself is uploaded and no copy is made.
 *
 * On backends that keep a reference to the uploaded array (cpu), dispose the tensors before
 * reusing `scratch`.
 *
 * @param values rows x cols, row-major
 * @param bounds column boundaries, 0 .. cols
 * @param scratch at least rows x cols long when there is more than one slice
 * @returns one rows x (bounds[c+1] - bounds[c]) tensor per slice; the caller disposes them
 */
export function columnChunks(
  values: Float32Array,
  rows: number,
  cols: number,
  bounds: Int32Array,
  scratch?: Float32Array,
): tf.Tensor2D[] {
  if (
    values.length !== rows * cols ||
    bounds.length < 2 ||
    bounds[0] !== 0 ||
    bounds[bounds.length - 1] !== cols
  ) {
    throw new Error(`columnChunks: expected ${rows} x ${cols} values and bounds from 0 to ${cols}`);
  }
  if (bounds.length === 2) return [tf.tensor2d(values, [rows, cols], 'float32')];
  const buffer =
    scratch !== undefined && scratch.length >= rows * cols ? scratch : new Float32Array(rows * cols);
  const chunks: tf.Tensor2D[] = [];
  for (let c = 0; c + 1 < bounds.length; c++) {
    const start = bounds[c];
    const width = bounds[c + 1] - start;
    const base = rows * start;
    for (let r = 0; r < rows; r++) {
      buffer.set(values.subarray(r * cols + start, r * cols + start + width), base + r * width);
    }
    chunks.push(tf.tensor2d(buffer.subarray(base, base + rows * width), [rows, width], 'float32'));
  }
  return chunks;
}
