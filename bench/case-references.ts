/**
 * Cutting a reference matrix for a hard case: keeping some of its cells (a type held out, or a
 * seeded draw of at most k cells per type). Pure functions over an ExpressionMatrix, so the
 * federated runs and the baselines see exactly the same cells.
 */
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { createRng } from '@fl/engine';
import type { ExpressionMatrix } from '@fl/formats';

/** A matrix of the given rows (in the given order); a reference keeps their labels. */
export function selectCells(matrix: ExpressionMatrix, rows: readonly number[]): ExpressionMatrix {
  const nGenes = matrix.genes.length;
  const values = new Float32Array(rows.length * nGenes);
  rows.forEach((r, i) => values.set(matrix.values.subarray(r * nGenes, (r + 1) * nGenes), i * nGenes));
  return {
    source: matrix.source,
    cellIds: rows.map((r) => matrix.cellIds[r]),
    genes: matrix.genes,
    values,
    ...(matrix.labels ? { labels: rows.map((r) => matrix.labels![r]) } : {}),
  };
}

/** The rows whose label is not `type`. */
export function rowsWithoutType(labels: readonly string[], type: string): number[] {
  const rows: number[] = [];
  labels.forEach((l, i) => {
    if (l !== type) rows.push(i);
  });
  return rows;
}

/**
 * At most `perType` rows of every label, drawn without replacement (a partial Fisher-Yates
 * shuffle of each type's rows) from a generator seeded with `seed`; the result is in row order.
 * Types with fewer cells keep them all. Types are visited in sorted order, so the draw depends
 * only on the labels and the seed.
 */
export function subsampleRows(labels: readonly string[], perType: number, seed: number): number[] {
  const byType = new Map<string, number[]>();
  labels.forEach((l, i) => byType.set(l, [...(byType.get(l) ?? []), i]));
  const rng = createRng(seed);
  const kept: number[] = [];
  for (const type of [...byType.keys()].sort()) {
    const rows = byType.get(type)!;
    const take = Math.min(perType, rows.length);
    for (let i = 0; i < take; i++) {
      const j = uniformInt(rng, i, rows.length - 1);
      [rows[i], rows[j]] = [rows[j], rows[i]];
    }
    kept.push(...rows.slice(0, take));
  }
  return kept.sort((a, b) => a - b);
}

/** The distinct labels of a reference, sorted. */
export function typesOf(labels: readonly string[]): string[] {
  return [...new Set(labels)].sort();
}
