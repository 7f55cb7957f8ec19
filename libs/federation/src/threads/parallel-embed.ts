import { embed, initBackend, type ModelShape } from '@fl/engine';
import { WorkerHandle } from './worker-handle';

/**
 * Embeds `nCells` rows of `values` (cells x inputSize) with the model, splitting the cells
 * over `threads` worker threads (one wasm backend each). With threads <= 1 or no worker
 * script it embeds in this thread. Results are identical either way: each cell's embedding
 * depends only on its own row.
 */
export async function embedCells(
  params: Float32Array,
  shape: ModelShape,
  values: Float32Array,
  nCells: number,
  options: { threads: number; workerScript?: string; backend?: string },
): Promise<Float32Array> {
  const threads = Math.min(options.threads, Math.ceil(nCells / 2048));
  if (threads <= 1 || !options.workerScript) {
    await initBackend(options.backend as never);
    return embed(params, shape, values, nCells);
  }
  const share = (source: Float32Array): SharedArrayBuffer => {
    const buffer = new SharedArrayBuffer(source.length * 4);
    new Float32Array(buffer).set(source);
    return buffer;
  };
  const paramsBuffer = share(params);
  const valuesBuffer = share(values.subarray(0, nCells * shape.inputSize));
  const out = new SharedArrayBuffer(nCells * shape.embeddingSize * 4);
  const workers = Array.from({ length: threads }, () => new WorkerHandle(options.workerScript!));
  try {
    await Promise.all(workers.map((w) => w.request({ type: 'init', backend: options.backend })));
    const per = Math.ceil(nCells / threads);
    await Promise.all(
      workers.map((w, t) =>
        w.request({
          type: 'embed',
          shape,
          params: paramsBuffer,
          values: valuesBuffer,
          out,
          firstCell: t * per,
          endCell: Math.min(nCells, (t + 1) * per),
        }),
      ),
    );
    return new Float32Array(out).slice();
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
