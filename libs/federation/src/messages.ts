/**
 * The round protocol's message types (Flower's FitIns/FitRes, typed). The embedded
 * federation, the secure-aggregation layer and the distributed platform all speak them.
 */

/** What the server asks of every institution in one round. Rounds count from 1. */
export interface RoundConfig {
  round: number;
  localSteps: number;
}

/** An institution's masked round update, made where the institution trains (secure aggregation). */
export interface MaskedUpdate {
  /** encode(params - global) + masks: the plan's lanes packed in words (the client's buffer, reused). */
  vector: Uint32Array;
  /** Update entries outside the clipping range (clipped and counted). */
  outOfRange: number;
  /** Milliseconds the masking took. */
  maskingMs: number;
}

/** One institution's answer to a round. */
export interface TrainResult {
  /** Index of the institution in the federation's fixed order. */
  institution: number;
  /** Its parameters after its local steps (flat layout of `parameterLayout`). */
  params: Float32Array;
  /** Reference cells it trained on, for cell-count-weighted averaging. */
  numExamples: number;
  /** Mean N-pair loss over its local steps this round. */
  loss: number;
  /** Wall-clock seconds of its local steps. */
  seconds: number;
  /** Present when the round was given a mask plan: the masked update, made right after training. */
  masked?: MaskedUpdate;
}

/** What an institution publishes after the last round: one median embedding per cell type. */
export interface LandmarkSet {
  institution: string;
  types: string[];
  /** Reference cells per type (summary only). */
  cellCounts: number[];
  /** types.length x embeddingSize, row-major. */
  landmarks: Float32Array;
}

/** The public description of an institution: its name and summary counts, never its cells. */
export interface InstitutionInfo {
  index: number;
  name: string;
  numExamples: number;
  types: string[];
  typeCounts: number[];
}
