const buffers = new Map<string, Float32Array>();

/**
 * A reusable Float32Array of at least `size` elements, shared by every caller in this thread
 * that asks for the same `name` (contents are NOT preserved between uses). For large temporary
 * buffers used within one synchronous call: a fresh 40 MB array costs more in page faults than
 * the arithmetic done with it, and sharing keeps one copy however many trainers a thread runs.
 */
export function scratchBuffer(name: string, size: number): Float32Array {
  let buffer = buffers.get(name);
  if (buffer === undefined || buffer.length < size) {
    buffer = new Float32Array(size);
    buffers.set(name, buffer);
  }
  return buffer.subarray(0, size);
}
