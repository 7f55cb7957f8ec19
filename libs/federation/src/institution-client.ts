import type { WeightedMeanKernel } from './aggregation';
import type { MaskPlan, RoundAggregate, UnmaskKernel } from '@fl/secure-agg';
import type { InstitutionInfo, LandmarkSet, RoundConfig, TrainResult } from './messages';

/**
 * The server's handle on one institution: the transport-independent half of the round
 * protocol. In-process, worker-thread and (later) queue-backed institutions implement it.
 */
export interface InstitutionClient {
  readonly info: InstitutionInfo;
  /**
   * Runs one round's local steps starting from `global`. With a mask plan (secure aggregation),
   * also masks its update (params - global) where it trained, into its own reused buffer.
   */
  train(config: RoundConfig, global: Float32Array, plan?: MaskPlan): Promise<TrainResult>;
  /** Computes the institution's landmarks with the final model. */
  landmarks(global: Float32Array): Promise<LandmarkSet>;
}

/**
 * The aggregator's per-round loops over whole vectors, for a pool whose threads share memory:
 * the running sum is allocated in shared memory, then its masks are removed and the decoded update
 * applied to the global model range by range in every thread (same bits as one thread: every
 * element is computed by the same expression).
 */
export interface SecureAggregatorKernels {
  allocateSum(words: number): Uint32Array;
  unmask: UnmaskKernel;
  apply(aggregate: RoundAggregate, model: Float32Array): Promise<void>;
}

/** A set of institutions plus the buffer in which the server keeps the global model. */
export interface InstitutionPool {
  readonly clients: readonly InstitutionClient[];
  /** The global model lives here; clients that share memory with the server read it without a copy. */
  readonly global: Float32Array;
  /** The tensor backend the institutions compute with. */
  readonly backend: string;
  /** A faster weighted mean for results that live in the pool's shared memory, if it has one. */
  readonly weightedMean?: WeightedMeanKernel;
  /** Secure aggregation's aggregator loops split over the pool's threads, if it has them. */
  readonly secureKernels?: SecureAggregatorKernels;
  close(): Promise<void>;
}
