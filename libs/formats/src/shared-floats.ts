/**
 * A Float32Array on shared memory. Expression matrices are allocated this way so that worker
 * threads (annotation splits a query's cells over them) read the rows without a copy: on the
 * machines we run on, a fresh copy of a large matrix costs more than embedding it.
 */
export function sharedFloat32(length: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(length * Float32Array.BYTES_PER_ELEMENT));
}
