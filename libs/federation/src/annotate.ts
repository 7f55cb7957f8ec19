import { assignCells, assignEnsemble } from '@fl/engine';
import type { ExpressionMatrix } from '@fl/formats';
import { assertSharesGenes, geneMapping } from './gene-space';
import type { FederatedModel } from './model';
import { autoRejection, type NovelGroup } from './outlier-rejection';
import { embedCells } from './threads/parallel-embed';
import { findWorkerScript } from './threads/worker-handle';

export const UNASSIGNED = 'unassigned';

/** A correlation, or 'auto': per predicted type, from the query's own confidences (outlier-rejection.ts). */
export type RejectThreshold = number | 'auto';

export interface AnnotationOptions {
  /** Cells whose best Pearson correlation is below it are labelled `unassigned`. */
  rejectThreshold?: RejectThreshold;
  threads?: number;
  backend?: string;
}

/** Predictions for one query file, in its row order. */
export interface Annotation {
  source: string;
  cellIds: string[];
  labels: string[];
  /** Pearson correlation with the winning landmark. */
  confidence: Float32Array;
  /** Institution whose landmark won. */
  institutions: string[];
  coveredGenes: number;
  modelGenes: number;
  /** With `rejectThreshold: 'auto'`: the correlation chosen per predicted type (absent: none rejected). */
  autoThresholds?: Record<string, number>;
  /** `--reject-threshold auto` found a group of cells no reference knows (step 1 of autoRejection). */
  autoNovelGroup?: NovelGroup;
}

/**
 * Labels query cells (ALGORITHM.md §7): embed each cell with the federated model, find the
 * best-correlated landmark of every institution, and keep the best over institutions. An
 * ensemble embeds the cells with every member and averages each landmark's correlation.
 */
export async function annotateMatrix(
  model: FederatedModel,
  matrix: ExpressionMatrix,
  options: AnnotationOptions = {},
): Promise<Annotation> {
  const mapping = geneMapping(matrix.genes, model.genes);
  assertSharesGenes(matrix, mapping, model.genes);
  const nCells = matrix.cellIds.length;
  const embedWith = (params: Float32Array) =>
    embedCells(params, model.shape, matrix.values, nCells, mapping, {
      threads: options.threads ?? 1,
      workerScript: findWorkerScript(),
      backend: options.backend,
    });
  const setsOf = (landmarks: FederatedModel['landmarks']) =>
    landmarks.map((l) => ({ landmarks: l.landmarks, nTypes: l.types.length }));
  const e = model.shape.embeddingSize;
  let assignment;
  if (model.ensemble && model.ensemble.length > 0) {
    const members = [{ params: model.params, landmarks: model.landmarks }, ...model.ensemble];
    const views = [];
    for (const m of members)
      views.push({ embeddings: await embedWith(m.params), landmarkSets: setsOf(m.landmarks) });
    assignment = assignEnsemble(views, nCells, e);
  } else {
    assignment = assignCells(await embedWith(model.params), nCells, e, setsOf(model.landmarks));
  }
  const { bestSet, bestType, correlation } = assignment;
  const threshold = options.rejectThreshold;
  const labels = new Array<string>(nCells);
  const institutions = new Array<string>(nCells);
  for (let c = 0; c < nCells; c++) {
    const set = model.landmarks[bestSet[c]];
    institutions[c] = set.institution;
    const rejected = typeof threshold === 'number' && !(correlation[c] >= threshold);
    labels[c] = rejected ? UNASSIGNED : set.types[bestType[c]];
  }
  let autoThresholds: Record<string, number> | undefined;
  let autoNovelGroup: NovelGroup | undefined;
  if (threshold === 'auto') {
    const auto = autoRejection(labels, correlation);
    auto.rejected.forEach((r, c) => {
      if (r) labels[c] = UNASSIGNED;
    });
    autoThresholds = Object.fromEntries([...auto.thresholds].sort((a, b) => a[0].localeCompare(b[0])));
    autoNovelGroup = auto.novelGroup;
  }
  return {
    ...(autoThresholds && { autoThresholds }),
    ...(autoNovelGroup && { autoNovelGroup }),
    source: matrix.source,
    cellIds: matrix.cellIds,
    labels,
    confidence: correlation,
    institutions,
    coveredGenes: mapping.coveredGenes,
    modelGenes: model.genes.length,
  };
}
