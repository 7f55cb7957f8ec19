import type { SparseCounts } from '@fl/formats';
import { InputError } from '@fl/formats';
import { resolveDuplicateGenes } from './duplicate-genes';
import { mitochondrialGeneIndices, noMitoGenesWarning } from './mito-genes';
import { resolveQualityControlOptions, type QualityControlOptions } from './options';
import { selectCells } from './select-cells';

/**
 * What the filters did. A cell can fail several filters: `removedByGenes`, `removedByCounts`
 * and `removedByMito` each count every cell that failed THAT filter (so a cell failing two is
 * counted in both, and their sum can exceed `removed`); `removed` counts each removed cell once.
 */
export interface QualityControlReport {
  cellsIn: number;
  cellsOut: number;
  /** cellsIn - cellsOut: cells that failed at least one filter. */
  removed: number;
  removedByGenes: number;
  removedByCounts: number;
  removedByMito: number;
  /** Genes recognised as mitochondrial (`MT-` prefix, case-insensitive). */
  mitoGenes: number;
  /** Gene columns merged into an earlier one by `duplicateGenes: 'sum'`. */
  duplicateGenesMerged: number;
  /** The thresholds actually applied (defaults filled in). */
  thresholds: { minGenes: number; minCounts: number; maxMitoFraction: number };
  /** Things the user should know, e.g. no mitochondrial gene found, or counts that are not integers. */
  warnings: string[];
}

export interface QualityControlResult {
  kept: SparseCounts;
  report: QualityControlReport;
}

/**
 * The published cell filter (ALGORITHM.md §1): keep cells with MORE than `minGenes` detected
 * genes, MORE than `minCounts` total counts and LESS than `maxMitoFraction` of their counts in
 * mitochondrial genes. Duplicate gene names are resolved first, so a gene is detected once.
 */
export function qualityControl(counts: SparseCounts, opts?: QualityControlOptions): QualityControlResult {
  const o = resolveQualityControlOptions(opts);
  const { counts: merged, merged: duplicateGenesMerged } = resolveDuplicateGenes(counts, o.duplicateGenes);
  const mitoIndices = mitochondrialGeneIndices(merged.genes);
  const isMito = new Uint8Array(merged.genes.length);
  for (const j of mitoIndices) isMito[j] = 1;

  const nCells = merged.cellIds.length;
  const keep = new Uint8Array(nCells);
  let removedByGenes = 0;
  let removedByCounts = 0;
  let removedByMito = 0;
  let nonInteger = 0;
  for (let c = 0; c < nCells; c++) {
    let detected = 0;
    let total = 0;
    let mito = 0;
    for (let k = merged.indptr[c]; k < merged.indptr[c + 1]; k++) {
      const v = merged.data[k];
      if (!(v >= 0) || !Number.isFinite(v)) throw badValue(merged, c, merged.indices[k], v);
      if (v === 0) continue; // explicitly stored zeros are not detections
      if (!Number.isInteger(v)) nonInteger++;
      detected++;
      total += v;
      if (isMito[merged.indices[k]]) mito += v;
    }
    // A cell with no counts has no defined fraction; it fails minCounts anyway, so call it 0.
    const mitoFraction = total > 0 ? mito / total : 0;
    const failsGenes = !(detected > o.minGenes);
    const failsCounts = !(total > o.minCounts);
    const failsMito = !(mitoFraction < o.maxMitoFraction);
    removedByGenes += +failsGenes;
    removedByCounts += +failsCounts;
    removedByMito += +failsMito;
    keep[c] = failsGenes || failsCounts || failsMito ? 0 : 1;
  }

  const kept = selectCells(merged, keep);
  const warnings: string[] = [];
  if (mitoIndices.length === 0) warnings.push(noMitoGenesWarning(merged.genes));
  if (nonInteger > 0) {
    warnings.push(
      `${nonInteger} stored values are not whole numbers: preprocessing expects raw counts; is this file already normalised?`,
    );
  }
  if (kept.cellIds.length === 0 && nCells > 0)
    warnings.push('every cell was removed by the quality filters.');
  return {
    kept,
    report: {
      cellsIn: nCells,
      cellsOut: kept.cellIds.length,
      removed: nCells - kept.cellIds.length,
      removedByGenes,
      removedByCounts,
      removedByMito,
      mitoGenes: mitoIndices.length,
      duplicateGenesMerged,
      thresholds: { minGenes: o.minGenes, minCounts: o.minCounts, maxMitoFraction: o.maxMitoFraction },
      warnings,
    },
  };
}

function badValue(counts: SparseCounts, cell: number, gene: number, v: number): InputError {
  return new InputError(
    `${counts.source}: raw counts must be non-negative numbers; found ${v} for cell ${JSON.stringify(counts.cellIds[cell])}, ` +
      `gene ${JSON.stringify(counts.genes[gene])}. Is this file already log-normalised or scaled?`,
    counts.source,
  );
}
