import type { WeightedMeanKernel } from './aggregation';
import type { MaskPlan } from '@fl/secure-agg';
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

/** A set of institutions plus the buffer in which the server keeps the global model. */
export interface InstitutionPool {
  readonly clients: readonly InstitutionClient[];
  /** The global model lives here; clients that share memory with the server read it without a copy. */
  readonly global: Float32Array;
  /** The tensor backend the institutions compute with. */
  readonly backend: string;
  /** A faster weighted mean for results that live in the pool's shared memory, if it has one. */
  readonly weightedMean?: WeightedMeanKernel;
  close(): Promise<void>;
}
