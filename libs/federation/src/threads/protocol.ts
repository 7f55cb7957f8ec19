import type { ModelShape } from '@fl/engine';
import type { FixedPoint, LaneBits, MaskPlan, MaskStream } from '@fl/secure-agg';
import type { GeneMapping } from '../gene-space';

/** A Float32Array view on shared memory, as it crosses a thread boundary. */
export interface SharedFloats {
  buffer: SharedArrayBuffer;
  byteOffset: number;
  length: number;
}

/** A Uint32Array view on shared memory, as it crosses a thread boundary. */
export interface SharedWords {
  buffer: SharedArrayBuffer;
  byteOffset: number;
  length: number;
}

/** Messages between the main thread and an engine worker thread. */
export type WorkerRequest =
  | { type: 'init'; id: number; backend?: string }
  | {
      type: 'addInstitution';
      id: number;
      key: number;
      name: string;
      values: Float32Array;
      nCells: number;
      codes: Int32Array;
      types: string[];
      counts: number[];
      shape: ModelShape;
      seed: number;
      learningRate: number;
      inputDropout: number;
      /** Shared buffers: the global model (read) and this institution's slot (written). */
      global: SharedArrayBuffer;
      slot: SharedArrayBuffer;
    }
  | {
      type: 'train';
      id: number;
      key: number;
      localSteps: number;
      /** Secure aggregation: mask the update into `out` (shared) right after training. */
      mask?: { plan: MaskPlan; out: SharedArrayBuffer };
    }
  | { type: 'landmarks'; id: number; key: number }
  | {
      type: 'unmaskRange';
      id: number;
      sum: SharedWords;
      streams: MaskStream[];
      bits: LaneBits;
      lo: number;
      hi: number;
    }
  | {
      type: 'applyUpdateRange';
      id: number;
      sum: SharedWords;
      fixedPoint: FixedPoint;
      totalWeight: number;
      target: SharedFloats;
      lo: number;
      hi: number;
    }
  | {
      type: 'weightedMean';
      id: number;
      vectors: SharedFloats[];
      weights: Float64Array;
      out: SharedFloats;
      lo: number;
      hi: number;
    }
  | {
      type: 'embed';
      id: number;
      shape: ModelShape;
      params: SharedFloats;
      /** The query's rows in its own gene order; `mapping` aligns them. */
      values: SharedFloats;
      mapping: GeneMapping;
      out: SharedArrayBuffer;
      firstCell: number;
      endCell: number;
    };

export type WorkerResponse =
  | {
      type: 'ok';
      id: number;
      backend?: string;
      loss?: number;
      seconds?: number;
      landmarks?: Float32Array;
      outOfRange?: number;
      maskingMs?: number;
    }
  | { type: 'error'; id: number; message: string; stack?: string };
