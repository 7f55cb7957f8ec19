import { encodeRange, fixedPoint, laneView, maskedWords, wordsFor, type FixedPoint } from '@fl/secure-agg';
import { InputError } from '@fl/formats';
import { MIN_VARIABLE_GENES } from './gene-count-option';
import { embeddedSecureSession } from './embedded-secure-session';
import type { InstitutionData } from './local-institution';
import { maskUpdate } from './mask-update';
import type { InstitutionInfo } from './messages';

/**
 * Scores beyond ±this are clipped before they are summed. Normalised dispersions are z-scores
 * (rarely beyond ±20); the clip only bounds the fixed-point range, and a clipped gene still ranks
 * at the top.
 */
export const DISPERSION_CLIP = 256;

/**
 * Each gene's mean and dispersion over one institution's cells (row-major cells x genes). The
 * dispersion is the sample variance (n - 1) over the mean: 0 for a gene the institution never
 * sees (mean 0) or for a single cell.
 */
export function geneMoments(
  values: Float32Array,
  nCells: number,
  nGenes: number,
): { mean: Float64Array; dispersion: Float32Array } {
  const mean = new Float64Array(nGenes);
  const sumSq = new Float64Array(nGenes);
  for (let c = 0; c < nCells; c++) {
    const row = c * nGenes;
    for (let g = 0; g < nGenes; g++) {
      const v = values[row + g];
      mean[g] += v;
      sumSq[g] += v * v;
    }
  }
  const dispersion = new Float32Array(nGenes);
  for (let g = 0; g < nGenes; g++) {
    mean[g] /= nCells;
    if (nCells < 2 || mean[g] <= 0) continue;
    // Two-pass accuracy is not needed for a ranking; clamp the rounding's tiny negatives.
    const variance = Math.max(0, (sumSq[g] - nCells * mean[g] * mean[g]) / (nCells - 1));
    dispersion[g] = variance / mean[g];
  }
  return { mean, dispersion };
}

/** Mean bins of `normalisedDispersions` (Seurat's and scanpy's 20). */
export const DISPERSION_BINS = 20;

/**
 * What a gene an institution never sees counts for in the sum: four standard deviations below
 * any bin's typical gene, so that genes measured everywhere come first.
 */
export const UNSEEN_GENE_SCORE = -4;

/**
 * Each gene's normalised dispersion over one institution's cells (Satija et al. 2015, scanpy's
 * `flavor="seurat"`): genes are put in 20 equal-width bins of their mean expression, and a gene's
 * log dispersion becomes a z-score within its bin, so a gene is variable *for its expression
 * level*. Raw dispersion favours rare, noisy genes; this ranking kept the fragile small-reference
 * gains and lost less on large references (docs/algorithm.md, Presets). A bin of one gene scores
 * 1, as in scanpy; an unseen gene (or one with no variance) scores UNSEEN_GENE_SCORE.
 */
export function normalisedDispersions(values: Float32Array, nCells: number, nGenes: number): Float32Array {
  // Computed where the cells are; only the scores, summed with the other institutions', leave.
  const { mean, dispersion } = geneMoments(values, nCells, nGenes);
  const out = new Float32Array(nGenes).fill(UNSEEN_GENE_SCORE);
  const seen: number[] = [];
  let lo = Infinity;
  let hi = -Infinity;
  for (let g = 0; g < nGenes; g++) {
    if (mean[g] > 0 && dispersion[g] > 0) {
      seen.push(g);
      lo = Math.min(lo, mean[g]);
      hi = Math.max(hi, mean[g]);
    }
  }
  const bins: number[][] = Array.from({ length: DISPERSION_BINS }, () => []);
  const width = (hi - lo) / DISPERSION_BINS || 1;
  for (const g of seen) bins[Math.min(DISPERSION_BINS - 1, Math.floor((mean[g] - lo) / width))].push(g);
  for (const bin of bins) {
    if (bin.length === 1) out[bin[0]] = 1;
    if (bin.length < 2) continue;
    const logs = bin.map((g) => Math.log(dispersion[g]));
    const m = logs.reduce((a, b) => a + b, 0) / logs.length;
    const sd = Math.sqrt(logs.reduce((a, b) => a + (b - m) ** 2, 0) / (logs.length - 1));
    bin.forEach((g, i) => (out[g] = sd > 0 ? (logs[i] - m) / sd : 0));
  }
  return out;
}

/** The fixed point the dispersions are summed in: 32-bit lanes, exact for `institutions` summands. */
export function dispersionFixedPoint(institutions: number): FixedPoint {
  return fixedPoint(institutions, DISPERSION_CLIP, 32);
}

/**
 * The institutions' dispersions summed in the clear, as exact fixed-point integers: the same
 * integers secure aggregation's unmasked sum holds, so both choose the same genes.
 */
export function sumDispersionsPlain(dispersions: readonly Float32Array[]): Int32Array {
  const nGenes = dispersions[0].length;
  const fp = dispersionFixedPoint(dispersions.length);
  const total = new Int32Array(nGenes);
  const words = new Uint32Array(wordsFor(nGenes, 32));
  const lanes = laneView(words, 32);
  for (const d of dispersions) {
    encodeRange(d, words, fp);
    for (let g = 0; g < nGenes; g++) total[g] += lanes[g];
  }
  return total;
}

/**
 * The same sum through secure aggregation (Bonawitz et al.): each institution masks its encoded
 * dispersions; the aggregator learns only the sum. One round of its own session (own keys,
 * clipping range and lane width), before training starts.
 */
export async function sumDispersionsSecure(
  institutions: readonly InstitutionInfo[],
  dispersions: readonly Float32Array[],
  options: { threshold?: number; federationId?: string },
): Promise<Int32Array> {
  const nGenes = dispersions[0].length;
  const { session, ids } = await embeddedSecureSession(institutions, {
    federationId: `${options.federationId ?? `embedded-${Date.now()}`}-gene-statistics`,
    threshold: options.threshold,
    clip: DISPERSION_CLIP,
    bits: 32,
  });
  const planned = await session.planRound(1, ids, nGenes);
  const zeros = new Float32Array(nGenes);
  const masked = new Map(
    ids.map((id, i) => {
      const plan = planned.plans.get(id)!;
      const update = maskUpdate(dispersions[i], zeros, plan, new Uint32Array(maskedWords(plan)));
      return [id, update] as const;
    }),
  );
  const result = await session.completeRound(1, masked);
  return Int32Array.from(laneView(result.sum, 32).subarray(0, nGenes));
}

/**
 * The `count` genes of largest summed dispersion (ties: the earlier gene), returned in the
 * model's gene order. Fewer genes than `count`: all of them.
 */
export function topGenes(summed: Int32Array, count: number): number[] {
  if (count >= summed.length) return Array.from(summed, (_, g) => g);
  const order = Array.from(summed, (_, g) => g).sort((a, b) => summed[b] - summed[a] || a - b);
  return order.slice(0, count).sort((a, b) => a - b);
}

/** An institution's cells restricted to the chosen genes (indices into its current columns). */
export function keepGenes(data: InstitutionData, nGenes: number, keep: readonly number[]): InstitutionData {
  const values = new Float32Array(data.nCells * keep.length);
  for (let c = 0; c < data.nCells; c++) {
    const from = c * nGenes;
    const to = c * keep.length;
    for (let k = 0; k < keep.length; k++) values[to + k] = data.values[from + keep[k]];
  }
  return { ...data, values };
}

/** What an institution reports of its references for its share of the genes to be counted. */
export interface InstitutionCounts {
  /** Its reference cells. */
  cells: number;
  /** Its non-zero values over all its genes (`countDetectedValues`); needed only with `detectedValuesPerGene`. */
  detected?: number;
}

/** Caps on an institution's share of the variable genes (0 or absent: no cap). */
export interface GeneCountCaps {
  /** At most this many genes per reference cell. */
  genesPerCell?: number;
  /** At most one gene per this many detected values of its reference cells. */
  detectedValuesPerGene?: number;
}

/**
 * How many genes a federation keeps for `variableGenes` per institution: the sum over
 * institutions of each one's count (institutionGeneCount; the union's size caps the total where
 * it is used). Why per institution: one study's 2,000 most variable genes rescue a small
 * single-study reference, but 2,000 genes in all cost multi-study references 1-2 points, which
 * 2,000 per study recovers (docs/algorithm.md, Presets). The embedded federation and the
 * platform's aggregator both count with this, from the same counts (the platform's
 * institutions report theirs when they describe their data).
 */
export function variableGeneTotal(
  variableGenes: number,
  institutions: readonly InstitutionCounts[],
  caps: GeneCountCaps = {},
): number {
  return institutions.reduce((sum, counts) => sum + institutionGeneCount(variableGenes, counts, caps), 0);
}

/**
 * One institution's share of the model's genes: `variableGenes`, or less where a cap binds
 * (never fewer than MIN_VARIABLE_GENES):
 * - `genesPerCell`: at most that many per reference cell. Why: a model fitted to 94 cells on
 *   2,000 genes varies from seed to seed by 6 points on another study's query, and on 940 genes
 *   by 1.4 (pbmc3k at 20 cells per type, docs/benchmarks-hard-cases.md).
 * - `detectedValuesPerGene`: at most one gene per that many detected values. Why: cells count
 *   for less where they detect less. pbmc3k's 94 cells detect 401 genes each, baron's 100 cells
 *   1,779; at 40 values a gene, pbmc3k keeps 942 genes and baron its 2,000, which is what each
 *   reference measured best with (a cap per cell cannot give both).
 */
export function institutionGeneCount(
  variableGenes: number,
  counts: InstitutionCounts,
  caps: GeneCountCaps = {},
): number {
  let count = variableGenes;
  const { genesPerCell = 0, detectedValuesPerGene = 0 } = caps;
  if (genesPerCell > 0) count = Math.min(count, Math.round(genesPerCell * counts.cells));
  if (detectedValuesPerGene > 0) {
    if (counts.detected === undefined) {
      throw new Error("institutionGeneCount: detectedValuesPerGene needs the institution's detected values");
    }
    count = Math.min(count, Math.round(counts.detected / detectedValuesPerGene));
  }
  return count === variableGenes ? count : Math.max(MIN_VARIABLE_GENES, count);
}

/** Whether `count` is a valid `variableGenes`: 0 (every gene) or a whole number >= MIN_VARIABLE_GENES. */
export function isVariableGeneCount(count: number): boolean {
  return count === 0 || (Number.isInteger(count) && count >= MIN_VARIABLE_GENES);
}

export function checkVariableGenes(count: number | undefined): void {
  if (count === undefined || isVariableGeneCount(count)) return;
  throw new InputError(
    `variableGenes must be 0 (every gene) or a whole number of at least ${MIN_VARIABLE_GENES} genes, got ${count}`,
  );
}
