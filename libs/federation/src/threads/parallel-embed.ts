import { Embedder, initBackend, type ModelShape } from '@fl/engine';
import { sharedFloat32 } from '@fl/formats';
import { embedQueryRows } from '../embed-query-rows';
import type { GeneMapping } from '../gene-space';
import { WorkerHandle } from './worker-handle';

// Starting a thread and its backend (~0.6 s) costs as much as one thread embedding ~40,000 sparse cells.
const MIN_CELLS_PER_THREAD = 40_000;

/**
 * Embedding threads outlive one call: starting a thread and its wasm backend costs about as
 * much as embedding tens of thousands of cells. They are unref'd, so they never keep the
 * process alive.
 */
let idle: { key: string; workers: WorkerHandle[] } | undefined;

async function embeddingThreads(count: number, script: string, backend?: string): Promise<WorkerHandle[]> {
  const key = `${script}|${backend ?? ''}`;
  if (idle && idle.key === key && idle.workers.length >= count) return idle.workers.slice(0, count);
  const workers = Array.from({ length: count }, () => new WorkerHandle(script, { idleUnref: true }));
  try {
    await Promise.all(workers.map((w) => w.request({ type: 'init', backend })));
  } catch (error) {
    await Promise.all(workers.map((w) => w.terminate()));
    throw error;
  }
  const previous = idle;
  idle = { key, workers };
  if (previous) await Promise.all(previous.workers.map((w) => w.terminate()));
  return workers;
}

function toShared(values: Float32Array): Float32Array {
  if (values.buffer instanceof SharedArrayBuffer) return values;
  const copy = sharedFloat32(values.length);
  copy.set(values);
  return copy;
}

/**
 * Embeds `nCells` query rows (in the query's gene order; `mapping` aligns them to the model)
 * with the model, splitting the cells over `threads` worker threads, one tensor backend each.
 * With threads <= 1 or no worker script it embeds in this thread. Results are identical
 * either way: a cell's embedding depends only on its own row.
 */
export async function embedCells(
  params: Float32Array,
  shape: ModelShape,
  values: Float32Array,
  nCells: number,
  mapping: GeneMapping,
  options: { threads: number; workerScript?: string; backend?: string },
): Promise<Float32Array> {
  const threads = Math.min(options.threads, Math.floor(nCells / MIN_CELLS_PER_THREAD));
  if (threads <= 1 || !options.workerScript) {
    await initBackend(options.backend as never);
    const embedder = new Embedder(params, shape);
    try {
      const out = new Float32Array(nCells * shape.embeddingSize);
      embedQueryRows(embedder, shape, values, mapping, 0, nCells, out);
      return out;
    } finally {
      embedder.dispose();
    }
  }
  const sharedParams = toShared(params);
  const source = toShared(values);
  const out = sharedFloat32(nCells * shape.embeddingSize);
  const workers = await embeddingThreads(threads, options.workerScript, options.backend);
  const per = Math.ceil(nCells / threads);
  await Promise.all(
    workers.map((w, t) =>
      w.request({
        type: 'embed',
        shape,
        params: {
          buffer: sharedParams.buffer as SharedArrayBuffer,
          byteOffset: sharedParams.byteOffset,
          length: sharedParams.length,
        },
        values: {
          buffer: source.buffer as SharedArrayBuffer,
          byteOffset: source.byteOffset,
          length: source.length,
        },
        mapping,
        out: out.buffer as SharedArrayBuffer,
        firstCell: t * per,
        endCell: Math.min(nCells, (t + 1) * per),
      }),
    ),
  );
  return out;
}
