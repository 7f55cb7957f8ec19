import { InputError, type ExpressionMatrix } from '@fl/formats';

/** Gene names are matched case-insensitively, as the published code lower-cases them. */
export function normaliseGeneName(name: string): string {
  return name.trim().toLowerCase();
}

/**
 * The model's gene list: the union of the institutions' gene lists, in order of first
 * appearance (institutions in their fixed order), lower-cased. Only gene *names* are needed
 * from each institution, which is what the federated setting allows them to share.
 */
export function buildGeneUnion(geneLists: readonly (readonly string[])[]): string[] {
  const seen = new Set<string>();
  const union: string[] = [];
  for (const genes of geneLists) {
    for (const gene of genes) {
      const key = normaliseGeneName(gene);
      if (!seen.has(key)) {
        seen.add(key);
        union.push(key);
      }
    }
  }
  return union;
}

export interface AlignedMatrix {
  /** cells x modelGenes.length, row-major; genes the matrix lacks are zero. */
  values: Float32Array;
  nCells: number;
  /** How many model genes the matrix has. */
  coveredGenes: number;
  /** How many of the matrix's own genes the model does not know (dropped). */
  droppedGenes: number;
}

/**
 * Aligns a matrix to the model's gene list: zero-fills genes it lacks and drops genes the
 * list lacks. A matrix that shares no gene with the model is an input error, since every
 * cell would embed to the same point.
 */
export function alignToGenes(matrix: ExpressionMatrix, modelGenes: readonly string[]): AlignedMatrix {
  const modelIndex = new Map<string, number>();
  modelGenes.forEach((gene, i) => modelIndex.set(gene, i));
  const nCells = matrix.cellIds.length;
  const nSource = matrix.genes.length;
  const target = new Int32Array(nSource);
  let covered = 0;
  for (let g = 0; g < nSource; g++) {
    const index = modelIndex.get(normaliseGeneName(matrix.genes[g]));
    target[g] = index ?? -1;
    if (index !== undefined) covered++;
  }
  if (covered === 0) {
    throw new InputError(
      `${matrix.source}: none of its ${nSource} genes is among the model's ${modelGenes.length} genes ` +
        `(e.g. model: ${modelGenes.slice(0, 3).join(', ')}; file: ${matrix.genes.slice(0, 3).join(', ')}). ` +
        'Check that both use the same gene naming (symbols vs Ensembl ids) and species.',
      matrix.source,
    );
  }
  const nModel = modelGenes.length;
  const values = new Float32Array(nCells * nModel);
  const source = matrix.values;
  for (let c = 0; c < nCells; c++) {
    const from = c * nSource;
    const to = c * nModel;
    for (let g = 0; g < nSource; g++) {
      const t = target[g];
      if (t >= 0) values[to + t] = source[from + g];
    }
  }
  return { values, nCells, coveredGenes: covered, droppedGenes: nSource - covered };
}
