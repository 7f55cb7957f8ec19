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
  /**
   * An ensemble's further members (member 0 is `params` and `landmarks`): the same federation
   * trained again with other seeds. Annotation averages each landmark's correlation over the
   * members (`assignEnsemble`). Absent for a single model (the published method).
   */
  ensemble?: EnsembleMember[];
}

/** One further member of an ensemble: its parameters and its landmarks (same institutions and types). */
export interface EnsembleMember {
  params: Float32Array;
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
  /** Models trained (seeds `ensembleSeed(seed, k)`); absent or 1: a single model. */
  ensembleSize?: number;
  /**
   * Genes of largest dispersion per institution (`--variable-genes`): the model was trained on
   * this many times the institutions (at most the union), chosen from the institutions' summed
   * gene statistics; absent or 0: every gene of the union (the published method).
   */
  variableGenes?: number;
  /**
   * With `variableGenes`: each institution's share is at most this many genes per reference cell
   * (`institutionGeneCount`); absent or 0: `variableGenes` each.
   */
  variableGenesPerCell?: number;
  /**
   * With `variableGenes`: each institution's share is at most one gene per this many values its
   * reference cells detect (`institutionGeneCount`); absent or 0: no such cap.
   */
  detectedValuesPerGene?: number;
  /**
   * Gene dropout of the local steps: the probability that a detected value of a training cell is
   * zeroed in a step (`LocalTrainer`); absent or 0: none (the published method).
   */
  inputDropout?: number;
  /**
   * Gene dropout only at institutions whose cells detect at least this fraction of their genes
   * (`detectionRate`); absent or 0: at every institution.
   */
  inputDropoutMinDetection?: number;
  /** The preset the options came from (`--preset`), when one was named. */
  preset?: string;
  /** Present when secure aggregation was asked for but not used (one institution). */
  secureAggregationSkipped?: SecureAggregationSkipped;
}
