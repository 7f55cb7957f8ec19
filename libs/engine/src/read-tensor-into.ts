import * as tf from '@tensorflow/tfjs-core';

/** The wasm backend's view of a tensor's memory (public method of `BackendWasm`). */
interface HeapBackend {
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/**
 * Copies a float32 tensor's values into `out` at `offset`, without allocating.
 *
 * `dataSync()` on the wasm backend returns a fresh copy of the tensor's heap memory; for the
 * 10 M gradient entries of a large model that fresh allocation (and its page faults) costs more
 * than the step's arithmetic. On the wasm backend this copies straight from a view of the heap;
 * on other backends it falls back to `dataSync()`. Call it outside `tf.tidy`.
 *
 * @param t float32 tensor (any shape, N values) of the current backend
 * @param out destination, at least offset + N long
 */
export function readTensorInto(t: tf.Tensor, out: Float32Array, offset = 0): void {
  if (t.dtype !== 'float32') throw new Error(`readTensorInto: expected a float32 tensor, got ${t.dtype}`);
  if (!Number.isInteger(offset) || offset < 0 || offset + t.size > out.length) {
    throw new Error(`readTensorInto: ${t.size} values at offset ${offset} do not fit in ${out.length}`);
  }
  const backend = tf.backend() as unknown as Partial<HeapBackend>;
  if (tf.getBackend() === 'wasm' && typeof backend.typedArrayFromHeap === 'function') {
    // The view is used at once: no tfjs call in between may grow (and detach) the heap.
    out.set(backend.typedArrayFromHeap(t) as Float32Array, offset);
  } else {
    out.set(t.dataSync() as Float32Array, offset);
  }
}
