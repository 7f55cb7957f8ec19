import type { ModelShape } from '@fl/engine';
import type { LandmarkSet } from './messages';
import type { SecureAggregationSkipped } from './secure-aggregation-choice';

/** Everything annotation needs: what a model bundle stores. */
export interface FederatedModel {
  /** Model genes, lower-cased, in the model's input order. */
  genes: string[];
  shape: ModelShape;
  params: Float32Array;
  /** One set per institution, in the federation's fixed order (ties go to the first). */
  landmarks: LandmarkSet[];
}

/** How a model was made; recorded in the bundle's manifest. */
export interface TrainingOptions {
  rounds: number;
  localSteps: number;
  learningRate: number;
  seed: number;
  hiddenSize: number;
  embeddingSize: number;
  weighting: 'uniform' | 'numExamples';
  /** The aggregation actually used, e.g. 'secagg-fedavg-uniform' or 'fedavg-uniform'. */
  aggregation: string;
  /** Present when secure aggregation was asked for but not used (one institution). */
  secureAggregationSkipped?: SecureAggregationSkipped;
}
