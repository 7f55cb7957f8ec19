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

/** Where each of a matrix's genes goes in the model's gene list (-1: not a model gene). */
export interface GeneMapping {
  target: Int32Array;
  modelGenes: number;
  coveredGenes: number;
  /** True when the matrix's genes are the model's, in the model's order: rows need no rearranging. */
  identity: boolean;
}

export function geneMapping(sourceGenes: readonly string[], modelGenes: readonly string[]): GeneMapping {
  const modelIndex = new Map<string, number>();
  modelGenes.forEach((gene, i) => modelIndex.set(gene, i));
  const target = new Int32Array(sourceGenes.length);
  let covered = 0;
  let identity = sourceGenes.length === modelGenes.length;
  for (let g = 0; g < sourceGenes.length; g++) {
    const index = modelIndex.get(normaliseGeneName(sourceGenes[g])) ?? -1;
    target[g] = index;
    if (index >= 0) covered++;
    if (index !== g) identity = false;
  }
  return { target, modelGenes: modelGenes.length, coveredGenes: covered, identity };
}

/** Throws the input error for a matrix that shares no gene with the model. */
export function assertSharesGenes(
  matrix: ExpressionMatrix,
  mapping: GeneMapping,
  modelGenes: readonly string[],
): void {
  if (mapping.coveredGenes > 0) return;
  throw new InputError(
    `${matrix.source}: none of its ${matrix.genes.length} genes is among the model's ${modelGenes.length} genes ` +
      `(e.g. model: ${modelGenes.slice(0, 3).join(', ')}; file: ${matrix.genes.slice(0, 3).join(', ')}). ` +
      'Check that both use the same gene naming (symbols vs Ensembl ids) and species.',
    matrix.source,
  );
}

/**
 * Writes rows [first, end) of `source` (cells x mapping.target.length), aligned to the model's
 * genes, into `out` (row-major, (end - first) x modelGenes); genes the source lacks are zero.
 */
export function alignRows(
  source: Float32Array,
  mapping: GeneMapping,
  first: number,
  end: number,
  out: Float32Array,
): void {
  const nSource = mapping.target.length;
  const nModel = mapping.modelGenes;
  const { target } = mapping;
  out.fill(0, 0, (end - first) * nModel);
  for (let c = first; c < end; c++) {
    const from = c * nSource;
    const to = (c - first) * nModel;
    for (let g = 0; g < nSource; g++) {
      const t = target[g];
      if (t >= 0) out[to + t] = source[from + g];
    }
  }
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
  const mapping = geneMapping(matrix.genes, modelGenes);
  assertSharesGenes(matrix, mapping, modelGenes);
  const nCells = matrix.cellIds.length;
  const values = new Float32Array(nCells * modelGenes.length);
  alignRows(matrix.values, mapping, 0, nCells, values);
  return {
    values,
    nCells,
    coveredGenes: mapping.coveredGenes,
    droppedGenes: matrix.genes.length - mapping.coveredGenes,
  };
}
