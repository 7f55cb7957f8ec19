import type { ExpressionMatrix } from '@fl/formats';
import {
  annotateMatrix,
  trainFederatedModel,
  type Annotation,
  type ReferenceDataset,
  type TrainedFederation,
} from '@fl/federation';

export interface PublishedRunOptions {
  seed: number;
  rounds: number;
  threads: number;
  secure?: boolean;
  localSteps?: number;
  bits?: 8 | 16 | 32;
  /** Models in an ensemble (`--preset ensemble`); 1 or absent: the published single model. */
  ensembleSize?: number;
  /** Genes of largest dispersion to train on (`--preset variable-genes`); 0 or absent: every gene. */
  variableGenes?: number;
  /** With variableGenes: at most this many genes per reference cell at each institution; 0 or absent: no cap. */
  variableGenesPerCell?: number;
  /** With variableGenes: at most one gene per this many detected values at each institution; 0 or absent: no cap. */
  detectedValuesPerGene?: number;
  /** The model's hidden layer and embedding sizes; absent: the published 500 and 20. */
  hiddenSize?: number;
  embeddingSize?: number;
  /** Gene dropout of the local steps; 0 or absent: none. */
  inputDropout?: number;
  /** Gene dropout only where an institution's detection rate reaches this; 0 or absent: everywhere. */
  inputDropoutMinDetection?: number;
}

export interface PublishedRun {
  trained: TrainedFederation;
  annotation: Annotation;
  annotationSeconds: number;
}

/**
 * The published defaults as `npm run bench` runs them (embedded federation, one institution per
 * reference, singleton types kept for landmarks only), then the query annotated without rejection.
 */
export async function runPublished(
  references: readonly ReferenceDataset[],
  query: ExpressionMatrix,
  options: PublishedRunOptions,
): Promise<PublishedRun> {
  const {
    seed,
    rounds,
    threads,
    secure = false,
    localSteps = 1,
    bits = 16,
    ensembleSize = 1,
    variableGenes = 0,
    variableGenesPerCell = 0,
    detectedValuesPerGene = 0,
    hiddenSize,
    embeddingSize,
    inputDropout = 0,
    inputDropoutMinDetection = 0,
  } = options;
  const trained = await trainFederatedModel(references, {
    rounds,
    localSteps,
    ensembleSize,
    variableGenes,
    variableGenesPerCell,
    detectedValuesPerGene,
    ...(hiddenSize !== undefined && { hiddenSize }),
    ...(embeddingSize !== undefined && { embeddingSize }),
    inputDropout,
    inputDropoutMinDetection,
    seed,
    threads,
    allowSingletonTypes: true,
    secureAggregation: secure && { bits },
  });
  const started = performance.now();
  const annotation = await annotateMatrix(trained.model, query, { threads });
  return { trained, annotation, annotationSeconds: (performance.now() - started) / 1000 };
}
