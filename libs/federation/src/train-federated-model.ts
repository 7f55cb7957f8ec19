import { DEFAULT_EMBEDDING_SIZE, DEFAULT_HIDDEN_SIZE, type ModelShape } from '@fl/engine';
import { InputError, type ExpressionMatrix } from '@fl/formats';
import { FedAvg, type AggregationStrategy } from './aggregation';
import { countDetectedValues, institutionDropout } from './detection-rate';
import { checkInputDropout, checkInputDropoutMinDetection } from './input-dropout-option';
import { SecureFedAvg, type SecureAggregationOptions, type SecureRoundReport } from './secure-fed-avg';
import { alignToGenes, buildGeneUnion } from './gene-space';
import { createInProcessPool } from './in-process-pool';
import type { InstitutionPool } from './institution-client';
import { encodeLabels } from './label-codes';
import { checkReferenceTypes } from './reference-rules';
import { chooseSecureAggregation } from './secure-aggregation-choice';
import type { InstitutionData } from './local-institution';
import type { InstitutionInfo } from './messages';
import type { FederatedModel, TrainingOptions } from './model';
import { runRounds, type RoundSummary } from './run-rounds';
import { deriveSeed, ensembleSeed } from './seeds';
import {
  checkVariableGenes,
  keepGenes,
  normalisedDispersions,
  sumDispersionsPlain,
  sumDispersionsSecure,
  topGenes,
  variableGeneTotal,
} from './variable-genes';
import { checkDetectedValuesPerGene, checkGenesPerCell } from './gene-count-option';
import { createThreadedPool } from './threads/threaded-pool';
import { findWorkerScript } from './threads/worker-handle';

export interface ReferenceDataset {
  /** Institution name (file name without extension in the command line). */
  name: string;
  matrix: ExpressionMatrix;
}

export interface TrainFederatedOptions extends Partial<TrainingOptions> {
  /** Worker threads for institutions; 0 or 1 runs them all in this thread. */
  threads?: number;
  backend?: string;
  /** Train on types with >= 2 cells and give singleton types landmarks only (published behaviour). */
  allowSingletonTypes?: boolean;
  strategy?: AggregationStrategy;
  /** Secure aggregation (the server sees only masked parameters); off when false or absent. */
  secureAggregation?: SecureAggregationOptions | false;
  /** Called after every round; `member` counts ensemble members from 0. */
  onRound?: (summary: RoundSummary, member: number) => void;
}

export interface TrainedFederation {
  model: FederatedModel;
  options: TrainingOptions;
  institutions: InstitutionInfo[];
  history: RoundSummary[];
  backend: string;
  /**
   * Seconds from the first round to the last landmark (secure-aggregation key set-up included);
   * an ensemble's members summed (their worker start-ups not included, as for a single model).
   */
  trainingSeconds: number;
  /**
   * With `inputDropoutMinDetection`: each institution's detection rate and the gene dropout it
   * applied (each decides on its own cells; reported here as the command line prints it).
   */
  inputDropoutAt?: { institution: string; detection: number; rate: number }[];
  /** `variableGenes`: how many genes were chosen from how many, how long it took, and whether securely. */
  geneSelection?: GeneSelection;
  /** Absent when secure aggregation was off or skipped (options.secureAggregationSkipped says why). */
  secureAggregation?: {
    threshold: number;
    /** Lane width of the masked updates and the clipping range of their entries. */
    bits: number;
    clip: number;
    reports: SecureRoundReport[];
  };
}

export interface GeneSelection {
  /** Genes of the institutions' union. */
  from: number;
  chosen: number;
  /** Scoring, summing and choosing, before the first round (not in trainingSeconds). */
  seconds: number;
  /** The scores were summed through secure aggregation. */
  secure: boolean;
}

export const PUBLISHED_DEFAULTS = {
  rounds: 300,
  localSteps: 1,
  learningRate: 0.0005,
  seed: 0,
  hiddenSize: DEFAULT_HIDDEN_SIZE,
  embeddingSize: DEFAULT_EMBEDDING_SIZE,
  weighting: 'uniform',
} as const;

/**
 * Checks one reference's labels and turns it into an institution's private data, aligned to the
 * federation's genes. The distributed worker calls it too, so both shapes train on the same rows.
 */
export function prepareInstitutionData(
  ref: ReferenceDataset,
  genes: readonly string[],
  allowSingletonTypes: boolean,
): InstitutionData {
  const { matrix } = ref;
  if (!matrix.labels) {
    throw new InputError(
      `${matrix.source}: reference files need a \`cell_label\` column (the cell type of each cell)`,
      matrix.source,
    );
  }
  const blank = matrix.labels.findIndex((l) => l.trim() === '');
  if (blank >= 0) {
    throw new InputError(
      `${matrix.source}: cell ${matrix.cellIds[blank]} has an empty cell_label; every reference cell needs a cell type`,
      matrix.source,
    );
  }
  const labels = encodeLabels(matrix.labels);
  checkReferenceTypes(matrix.source, labels.types, labels.counts, { allowSingletonTypes });
  const aligned = alignToGenes(matrix, genes);
  return { name: ref.name, values: aligned.values, nCells: aligned.nCells, labels };
}

async function createPool(
  data: InstitutionData[],
  shape: ModelShape,
  options: TrainingOptions,
  inputDropouts: readonly number[],
  threads: number,
  backend?: string,
): Promise<InstitutionPool> {
  const poolOptions = {
    shape,
    seeds: data.map((_, i) => deriveSeed(options.seed, i)),
    learningRate: options.learningRate,
    inputDropouts,
    backend,
  };
  const script = findWorkerScript();
  if (threads > 1 && script) return createThreadedPool(data, poolOptions, threads, script);
  return createInProcessPool(data, poolOptions);
}

/**
 * The embedded federation, end to end: builds the gene union from the institutions' gene
 * names, aligns each institution's cells to it, trains the federated model for the given
 * rounds and returns it with every institution's landmarks. Same data and seed give the
 * same model bit for bit, whatever the number of threads.
 */
export async function trainFederatedModel(
  references: readonly ReferenceDataset[],
  requested: TrainFederatedOptions = {},
): Promise<TrainedFederation> {
  if (references.length === 0) throw new InputError('no reference datasets were given: nothing to train on');
  const ensembleSize = requested.ensembleSize ?? 1;
  const variableGenes = requested.variableGenes ?? 0;
  checkVariableGenes(variableGenes);
  const genesPerCell = requested.variableGenesPerCell ?? 0;
  checkGenesPerCell(genesPerCell);
  const detectedPerGene = requested.detectedValuesPerGene ?? 0;
  checkDetectedValuesPerGene(detectedPerGene);
  const inputDropout = requested.inputDropout ?? 0;
  checkInputDropout(inputDropout);
  const minDetection = requested.inputDropoutMinDetection ?? 0;
  checkInputDropoutMinDetection(minDetection);
  if (!Number.isInteger(ensembleSize) || ensembleSize < 1 || ensembleSize > 16) {
    throw new InputError(`ensembleSize must be a whole number from 1 to 16, got ${requested.ensembleSize}`);
  }
  // One institution: plain FedAvg, the same run as with secure aggregation off (and recorded).
  const choice = chooseSecureAggregation(Boolean(requested.secureAggregation), references.length);
  const opts = choice.skipped ? { ...requested, secureAggregation: false as const } : requested;
  const weighting = opts.weighting ?? PUBLISHED_DEFAULTS.weighting;
  const options: TrainingOptions = {
    rounds: opts.rounds ?? PUBLISHED_DEFAULTS.rounds,
    localSteps: opts.localSteps ?? PUBLISHED_DEFAULTS.localSteps,
    learningRate: opts.learningRate ?? PUBLISHED_DEFAULTS.learningRate,
    seed: opts.seed ?? PUBLISHED_DEFAULTS.seed,
    hiddenSize: opts.hiddenSize ?? PUBLISHED_DEFAULTS.hiddenSize,
    embeddingSize: opts.embeddingSize ?? PUBLISHED_DEFAULTS.embeddingSize,
    weighting,
    aggregation:
      opts.strategy?.name ?? (opts.secureAggregation ? `secagg-fedavg-${weighting}` : `fedavg-${weighting}`),
    ...(ensembleSize > 1 && { ensembleSize }),
    ...(variableGenes > 0 && { variableGenes }),
    ...(variableGenes > 0 && genesPerCell > 0 && { variableGenesPerCell: genesPerCell }),
    ...(variableGenes > 0 && detectedPerGene > 0 && { detectedValuesPerGene: detectedPerGene }),
    ...(inputDropout > 0 && { inputDropout }),
    ...(inputDropout > 0 && minDetection > 0 && { inputDropoutMinDetection: minDetection }),
    ...(opts.preset !== undefined && { preset: opts.preset }),
    ...(choice.skipped && { secureAggregationSkipped: choice.skipped }),
  };
  const union = buildGeneUnion(references.map((r) => r.matrix.genes));
  const aligned = references.map((r) => prepareInstitutionData(r, union, opts.allowSingletonTypes ?? false));
  const institutions = aligned.map((d, index) => ({
    index,
    name: d.name,
    numExamples: d.nCells,
    types: d.labels.types,
    typeCounts: d.labels.counts,
  }));
  // Each institution decides its gene dropout on all its genes, before any gene selection.
  const dropouts = aligned.map((d) => institutionDropout(d, union.length, options));
  const inputDropouts = dropouts.map((d) => d.rate);
  const inputDropoutAt = options.inputDropoutMinDetection
    ? dropouts.map((d, i) => ({ institution: aligned[i].name, detection: d.detection ?? 0, rate: d.rate }))
    : undefined;
  const selectionStarted = performance.now();
  const { genes, data } = await selectModelGenes(union, aligned, institutions, options, opts);
  const geneSelection: GeneSelection | undefined =
    genes.length < union.length
      ? {
          from: union.length,
          chosen: genes.length,
          seconds: (performance.now() - selectionStarted) / 1000,
          secure: Boolean(opts.secureAggregation),
        }
      : undefined;
  const shape: ModelShape = {
    inputSize: genes.length,
    hiddenSize: options.hiddenSize,
    embeddingSize: options.embeddingSize,
  };
  const members: Awaited<ReturnType<typeof trainMember>>[] = [];
  for (let member = 0; member < ensembleSize; member++) {
    const memberOptions = { ...options, seed: ensembleSeed(options.seed, member) };
    // A threaded pool takes the cells' buffers (transferred to its threads): every member but
    // the last trains on a copy.
    const last = member === ensembleSize - 1;
    const memberData =
      last || (opts.threads ?? 1) <= 1 ? data : data.map((d) => ({ ...d, values: d.values.slice() }));
    members.push(
      await trainMember(memberData, institutions, shape, memberOptions, inputDropouts, opts, (summary) =>
        opts.onRound?.(summary, member),
      ),
    );
  }
  const [first, ...rest] = members;
  const secure = first.secure;
  return {
    model: {
      genes,
      shape,
      params: first.outcome.params,
      landmarks: first.outcome.landmarks,
      ...(rest.length > 0 && {
        ensemble: rest.map((m) => ({ params: m.outcome.params, landmarks: m.outcome.landmarks })),
      }),
    },
    options,
    institutions,
    history: members.flatMap((m) => m.outcome.history),
    backend: first.backend,
    trainingSeconds: members.reduce((sum, m) => sum + m.seconds, 0),
    ...(geneSelection && { geneSelection }),
    ...(inputDropoutAt && { inputDropoutAt }),
    secureAggregation: secure && {
      threshold: secure.threshold,
      bits: secure.bits,
      clip: secure.clip,
      reports: members.flatMap((m) => m.secure?.reports ?? []),
    },
  };
}

/**
 * The model's genes: every gene of the union, or (`variableGenes` > 0) the variableGeneTotal
 * genes of largest normalised dispersion summed over institutions. Each institution computes its dispersions on its own
 * cells; only their sum is seen, through secure aggregation when the federation uses it.
 */
async function selectModelGenes(
  union: string[],
  aligned: InstitutionData[],
  institutions: InstitutionInfo[],
  options: Pick<TrainingOptions, 'variableGenes' | 'variableGenesPerCell' | 'detectedValuesPerGene'>,
  opts: TrainFederatedOptions,
): Promise<{ genes: string[]; data: InstitutionData[] }> {
  const { variableGenes, variableGenesPerCell, detectedValuesPerGene } = options;
  // Each institution counts its own detected values (only when the cap asks for them).
  const counts = aligned.map((d) => ({
    cells: d.nCells,
    ...(detectedValuesPerGene && { detected: countDetectedValues(d.values) }),
  }));
  const total = variableGenes
    ? variableGeneTotal(variableGenes, counts, { genesPerCell: variableGenesPerCell, detectedValuesPerGene })
    : 0;
  if (!total || total >= union.length) return { genes: union, data: aligned };
  const dispersions = aligned.map((d) => normalisedDispersions(d.values, d.nCells, union.length));
  const summed = opts.secureAggregation
    ? await sumDispersionsSecure(institutions, dispersions, opts.secureAggregation)
    : sumDispersionsPlain(dispersions);
  const keep = topGenes(summed, total);
  return {
    genes: keep.map((g) => union[g]),
    data: aligned.map((d) => keepGenes(d, union.length, keep)),
  };
}

/** One federation from fresh parameters (one ensemble member): rounds, then landmarks. */
async function trainMember(
  data: InstitutionData[],
  institutions: InstitutionInfo[],
  shape: ModelShape,
  options: TrainingOptions,
  inputDropouts: readonly number[],
  opts: TrainFederatedOptions,
  onRound: (summary: RoundSummary) => void,
) {
  const pool = await createPool(data, shape, options, inputDropouts, opts.threads ?? 1, opts.backend);
  try {
    const started = performance.now();
    const secure = opts.secureAggregation
      ? await SecureFedAvg.create(institutions, options.weighting, {
          ...opts.secureAggregation,
          learningRate: options.learningRate,
          localSteps: options.localSteps,
          kernels: pool.secureKernels,
        })
      : undefined;
    const strategy = opts.strategy ?? secure ?? new FedAvg(options.weighting, pool.weightedMean);
    const outcome = await runRounds(pool, {
      shape,
      rounds: options.rounds,
      localSteps: options.localSteps,
      seed: options.seed,
      strategy,
      onRound,
    });
    return { outcome, secure, backend: pool.backend, seconds: (performance.now() - started) / 1000 };
  } finally {
    await pool.close();
  }
}
