/**
 * Entry point of an engine worker thread: it hosts some institutions of an embedded
 * federation (their data, model copies and Adam states) and embeds chunks of queries.
 * The wasm backend runs one thread per backend, so a worker per core puts both cores to work.
 */
import { parentPort } from 'node:worker_threads';
import { Embedder, initBackend } from '@fl/engine';
import { embedQueryRows } from '../embed-query-rows';
import { LocalInstitution } from '../local-institution';
import { weightedMeanRange } from '../aggregation';
import { maskUpdate } from '../mask-update';
import { applyMaskStreams, applyMeanUpdateRange } from '@fl/secure-agg';
import type { SharedFloats, SharedWords, WorkerRequest, WorkerResponse } from './protocol';

const view = (s: SharedFloats) => new Float32Array(s.buffer, s.byteOffset, s.length);
const words = (s: SharedWords) => new Uint32Array(s.buffer, s.byteOffset, s.length);

const institutions = new Map<number, { institution: LocalInstitution; global: Float32Array }>();

function handle(
  request: WorkerRequest,
): Promise<Omit<WorkerResponse & { type: 'ok' }, 'type' | 'id'>> | object {
  switch (request.type) {
    case 'init':
      return initBackend(request.backend as never).then((backend) => ({ backend }));
    case 'addInstitution': {
      const global = new Float32Array(request.global);
      const institution = new LocalInstitution(
        {
          name: request.name,
          values: request.values,
          nCells: request.nCells,
          labels: { types: request.types, codes: request.codes, counts: request.counts },
        },
        {
          shape: request.shape,
          seed: request.seed,
          learningRate: request.learningRate,
          inputDropout: request.inputDropout,
        },
        new Float32Array(request.slot),
      );
      institutions.set(request.key, { institution, global });
      return {};
    }
    case 'train': {
      const entry = institutions.get(request.key)!;
      const trained = entry.institution.train(entry.global, request.localSteps);
      if (!request.mask) return trained;
      // Masked here, in the institution's own thread, while other threads may still be training.
      const { plan, out } = request.mask;
      const m = maskUpdate(entry.institution.params, entry.global, plan, new Uint32Array(out));
      return { ...trained, outOfRange: m.outOfRange, maskingMs: m.maskingMs };
    }
    case 'landmarks': {
      const entry = institutions.get(request.key)!;
      return { landmarks: entry.institution.landmarks(entry.global) };
    }
    case 'unmaskRange':
      applyMaskStreams(words(request.sum), request.streams, request.lo, request.hi, request.bits);
      return {};
    case 'applyUpdateRange':
      applyMeanUpdateRange(
        words(request.sum),
        request.fixedPoint,
        request.totalWeight,
        view(request.target),
        request.lo,
        request.hi,
      );
      return {};
    case 'weightedMean': {
      weightedMeanRange(
        request.vectors.map(view),
        request.weights,
        view(request.out),
        request.lo,
        request.hi,
      );
      return {};
    }
    case 'embed': {
      const { shape, firstCell, endCell } = request;
      const embedder = new Embedder(view(request.params), shape);
      try {
        const out = new Float32Array(
          request.out,
          firstCell * shape.embeddingSize * 4,
          (endCell - firstCell) * shape.embeddingSize,
        );
        embedQueryRows(embedder, shape, view(request.values), request.mapping, firstCell, endCell, out);
      } finally {
        embedder.dispose();
      }
      return {};
    }
  }
}

parentPort!.on('message', async (request: WorkerRequest) => {
  try {
    const result = await handle(request);
    parentPort!.postMessage({ type: 'ok', id: request.id, ...result } satisfies WorkerResponse);
  } catch (error) {
    const e = error as Error;
    parentPort!.postMessage({ type: 'error', id: request.id, message: e.message, stack: e.stack });
  }
});
