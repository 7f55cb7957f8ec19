import { parameterLayout } from '@fl/engine';
import { applyAggregateUpdate, applyMaskStreams, maskedWords, type MaskPlan } from '@fl/secure-agg';
import type { InstitutionClient, InstitutionPool, SecureAggregatorKernels } from '../institution-client';
import { institutionInfo } from '../institution-info';
import type { InstitutionData } from '../local-institution';
import type { InstitutionInfo, LandmarkSet, RoundConfig, TrainResult } from '../messages';
import type { PoolOptions } from '../in-process-pool';
import { WorkerHandle } from './worker-handle';
import { weightedMeanInto, type WeightedMeanKernel } from '../aggregation';
import type { SharedFloats } from './protocol';

const shared = (v: Float32Array): SharedFloats | undefined =>
  v.buffer instanceof SharedArrayBuffer
    ? { buffer: v.buffer, byteOffset: v.byteOffset, length: v.length }
    : undefined;

/** Splits a weighted mean over the pool's threads when every vector lives in shared memory. */
function parallelWeightedMean(workers: readonly WorkerHandle[]): WeightedMeanKernel {
  return async (vectors, weights, out) => {
    const inputs = vectors.map(shared);
    const target = shared(out);
    if (!target || inputs.some((v) => v === undefined) || workers.length < 2) {
      weightedMeanInto(vectors, weights, out);
      return;
    }
    const per = Math.ceil(out.length / workers.length);
    await Promise.all(
      workers.map((w, t) =>
        w.request({
          type: 'weightedMean',
          vectors: inputs as SharedFloats[],
          weights,
          out: target,
          lo: t * per,
          hi: Math.min(out.length, (t + 1) * per),
        }),
      ),
    );
  };
}

const sharedWords = (v: Uint32Array) =>
  v.buffer instanceof SharedArrayBuffer
    ? { buffer: v.buffer, byteOffset: v.byteOffset, length: v.length }
    : undefined;

/** [lo, hi) of `n` for thread t of `count`, cut at multiples of 4 (whole keystream blocks). */
function share(n: number, t: number, count: number): [number, number] {
  const per = Math.ceil(n / count / 4) * 4;
  return [Math.min(n, t * per), Math.min(n, (t + 1) * per)];
}

/** Secure aggregation's aggregator loops, split over the pool's threads (shared memory). */
function parallelSecureKernels(workers: readonly WorkerHandle[]): SecureAggregatorKernels {
  return {
    allocateSum: (n) => new Uint32Array(new SharedArrayBuffer(n * 4)),
    unmask: async (sum, streams, bits) => {
      const target = sharedWords(sum);
      if (!target || workers.length < 2) return applyMaskStreams(sum, streams, 0, sum.length, bits);
      await Promise.all(
        workers.map((w, t) => {
          const [lo, hi] = share(sum.length, t, workers.length);
          return w.request({ type: 'unmaskRange', sum: target, streams: [...streams], bits, lo, hi });
        }),
      );
    },
    apply: async (aggregate, model) => {
      const sum = sharedWords(aggregate.sum);
      const target = shared(model);
      if (!sum || !target || workers.length < 2) {
        applyAggregateUpdate(aggregate, model);
        return;
      }
      await Promise.all(
        workers.map((w, t) => {
          const [lo, hi] = share(model.length, t, workers.length);
          return w.request({
            type: 'applyUpdateRange',
            sum,
            fixedPoint: aggregate.fixedPoint,
            totalWeight: aggregate.totalWeight,
            target,
            lo,
            hi,
          });
        }),
      );
    },
  };
}

class ThreadClient implements InstitutionClient {
  /** The institution's masked update, written by its thread (shared memory, reused every round). */
  private maskBuffer?: SharedArrayBuffer;

  constructor(
    readonly info: InstitutionInfo,
    private readonly worker: WorkerHandle,
    private readonly sharedGlobal: Float32Array,
    private readonly slot: Float32Array,
  ) {}

  async train(config: RoundConfig, global: Float32Array, plan?: MaskPlan): Promise<TrainResult> {
    if (global !== this.sharedGlobal) this.sharedGlobal.set(global);
    if (plan && this.maskBuffer?.byteLength !== maskedWords(plan) * 4) {
      this.maskBuffer = new SharedArrayBuffer(maskedWords(plan) * 4);
    }
    const r = await this.worker.request({
      type: 'train',
      key: this.info.index,
      localSteps: config.localSteps,
      mask: plan && { plan, out: this.maskBuffer! },
    });
    return {
      institution: this.info.index,
      params: this.slot,
      numExamples: this.info.numExamples,
      loss: r.loss!,
      seconds: r.seconds!,
      masked: plan && {
        vector: new Uint32Array(this.maskBuffer!),
        outOfRange: r.outOfRange!,
        maskingMs: r.maskingMs!,
      },
    };
  }

  async landmarks(global: Float32Array): Promise<LandmarkSet> {
    if (global !== this.sharedGlobal) this.sharedGlobal.set(global);
    const r = await this.worker.request({ type: 'landmarks', key: this.info.index });
    return {
      institution: this.info.name,
      types: this.info.types,
      cellCounts: this.info.typeCounts,
      landmarks: r.landmarks!,
    };
  }
}

/**
 * Institutions spread over `threads` worker threads (institution i on thread i mod threads),
 * each thread with its own tensor backend. The global model and each institution's result
 * live in shared memory, so a round moves no parameters between threads.
 *
 * The institutions' `values` buffers are transferred to the threads: do not use them after.
 */
export async function createThreadedPool(
  institutions: readonly InstitutionData[],
  options: PoolOptions,
  threads: number,
  workerScript: string,
): Promise<InstitutionPool> {
  const total = parameterLayout(options.shape).total;
  const count = Math.max(1, Math.min(threads, institutions.length));
  const workers = Array.from({ length: count }, () => new WorkerHandle(workerScript));
  try {
    const ready = await Promise.all(
      workers.map((w) => w.request({ type: 'init', backend: options.backend })),
    );
    const globalBuffer = new SharedArrayBuffer(total * 4);
    const global = new Float32Array(globalBuffer);
    const clients = await Promise.all(
      institutions.map(async (data, i) => {
        const worker = workers[i % count];
        const slotBuffer = new SharedArrayBuffer(total * 4);
        await worker.request(
          {
            type: 'addInstitution',
            key: i,
            name: data.name,
            values: data.values,
            nCells: data.nCells,
            codes: data.labels.codes,
            types: data.labels.types,
            counts: data.labels.counts,
            shape: options.shape,
            seed: options.seeds[i],
            learningRate: options.learningRate,
            inputDropout: options.inputDropouts?.[i] ?? 0,
            global: globalBuffer,
            slot: slotBuffer,
          },
          [data.values.buffer as ArrayBuffer],
        );
        return new ThreadClient(institutionInfo(data, i), worker, global, new Float32Array(slotBuffer));
      }),
    );
    return {
      clients,
      global,
      backend: ready[0].backend!,
      weightedMean: parallelWeightedMean(workers),
      secureKernels: parallelSecureKernels(workers),
      close: async () => {
        await Promise.all(workers.map((w) => w.terminate()));
      },
    };
  } catch (error) {
    await Promise.all(workers.map((w) => w.terminate()));
    throw error;
  }
}
