import * as tf from '@tensorflow/tfjs-core';
import {
  ADAM_DEFAULTS,
  adamGradientBuffer,
  adamStep,
  createAdamState,
  type AdamOptions,
  type AdamState,
} from './adam';
import { geneChunkBounds } from './gene-chunks';
import { groupCellsByType } from './group-cells-by-type';
import { dropInputs } from './input-dropout';
import { parameterLayout, type ModelShape, type ParameterLayout } from './model-shape';
import { npairGradients } from './npair-gradients';
import { readTensorInto } from './read-tensor-into';
import { createRng, rngFromState, type RandomGenerator } from './rng';
import { sampleNPairs } from './sample-npairs';
import { scratchBuffer } from './scratch';
import { disposeModelTensors, uploadWithW1Rows, type ModelTensors } from './upload-parameters';
import { validateShape } from './validate-shape';

/** Below this fraction of genes active in a batch, the step drops the inactive genes. */
const COMPACT_BELOW = 0.75;

/** Mixed into the seed for the gene-dropout generator. */
const AUGMENT_STREAM = 0x5bd1e995;

export interface LocalTrainerOptions {
  shape: ModelShape;
  /** Reference cells, cells x F row-major, already aligned to the model genes. */
  values: Float32Array;
  /** Cell type of each cell, 0..nTypes-1. */
  labelCodes: Int32Array;
  nTypes: number;
  /** Seeds the batch sampler (not the parameters). */
  seed: number;
  /** Adam learning rate, default 0.0005. */
  learningRate?: number;
  /** Other Adam hyper-parameters (defaults 0.9 / 0.999 / 1e-8). */
  adam?: Omit<AdamOptions, 'learningRate'>;
  /**
   * Skip genes that are zero in every cell of a step's batch (default true). Their rows of W1
   * take no part in the forward pass and get an exactly zero gradient, so the result is the
   * same up to float rounding; with scRNA-seq sparsity it saves most of the step's products.
   */
  compactGenes?: boolean;
  /**
   * Gene dropout (default 0, none): each detected value of a step's batch is zeroed with this
   * probability before the step (`dropInputs`), from a generator of its own.
   */
  inputDropout?: number;
}

/** Everything needed to resume a trainer exactly (copies, safe to post to another thread). */
export interface LocalTrainerState {
  adam: AdamState;
  /** xoroshiro128+ state of the batch sampler. */
  rng: number[];
  /** Steps taken (equals `adam.t`). */
  steps: number;
  /** State of the gene-dropout generator, when the trainer has one. */
  augmentRng?: number[];
}

/**
 * One institution's local training: the N-pair loss on its labelled cells and its own Adam
 * state (never shared). Types with fewer than 2 cells are not trained on.
 *
 * Memory: the trainer's own Adam state holds 4 floats per parameter (moments, and the SIMD
 * kernel's staging copies of parameters and gradients); the gather buffers are scratch shared
 * by all trainers of a thread (steps are synchronous).
 */
export class LocalTrainer {
  /** Type codes in L (types with >= 2 cells), ascending. */
  readonly trainingTypes: Int32Array;
  readonly shape: ModelShape;
  private readonly layout: ParameterLayout;
  private readonly values: Float32Array;
  private readonly groups: Int32Array[];
  private readonly compactGenes: boolean;
  /** Batch cells: anchors (rows 0..n-1) then positives (rows n..2n-1). */
  private readonly cells: Int32Array;
  private readonly anchors: Int32Array;
  private readonly positives: Int32Array;
  /** The batch, gene chunk after gene chunk (chunk c: 2n x F_c, row-major). */
  private readonly batch: Float32Array;
  private readonly geneActive: Uint8Array;
  private readonly activeGenes: Int32Array;
  private readonly denseBounds: Int32Array;
  private readonly adamOptions: Required<AdamOptions>;
  private readonly adam: AdamState;
  private rng: RandomGenerator;
  private readonly inputDropout: number;
  /** Draws the gene dropout (null without it). */
  private augmentRng: RandomGenerator | null;

  constructor(options: LocalTrainerOptions) {
    const { shape, values, labelCodes, nTypes, seed } = options;
    validateShape(shape, 'LocalTrainer');
    if (!(values instanceof Float32Array) || !(labelCodes instanceof Int32Array)) {
      throw new Error('LocalTrainer: values must be a Float32Array and labelCodes an Int32Array');
    }
    const f = shape.inputSize;
    if (values.length !== labelCodes.length * f) {
      throw new Error(
        `LocalTrainer: values has ${values.length} entries; expected cells (${labelCodes.length}) x F (${f})`,
      );
    }
    const learningRate = options.learningRate ?? ADAM_DEFAULTS.learningRate;
    if (!(learningRate > 0) || !Number.isFinite(learningRate)) {
      throw new Error(`LocalTrainer: learningRate must be a positive number, got ${learningRate}`);
    }
    const all = groupCellsByType(labelCodes, nTypes, 'LocalTrainer');
    const types: number[] = [];
    all.forEach((cells, c) => {
      if (cells.length >= 2) types.push(c);
    });
    if (types.length === 0) {
      throw new Error('LocalTrainer: needs at least one cell type with 2 or more cells');
    }
    this.shape = { ...shape };
    this.layout = parameterLayout(shape);
    this.values = values;
    this.trainingTypes = Int32Array.from(types);
    this.groups = types.map((c) => all[c]);
    this.compactGenes = options.compactGenes ?? true;
    const n = types.length;
    this.cells = new Int32Array(2 * n);
    this.anchors = this.cells.subarray(0, n);
    this.positives = this.cells.subarray(n);
    this.batch = new Float32Array(2 * n * f);
    this.geneActive = new Uint8Array(f);
    this.activeGenes = new Int32Array(f);
    this.denseBounds = geneChunkBounds(f, shape.hiddenSize);
    this.adamOptions = { ...ADAM_DEFAULTS, ...options.adam, learningRate };
    this.adam = createAdamState(this.layout.total);
    this.rng = createRng(seed);
    this.inputDropout = options.inputDropout ?? 0;
    if (!(this.inputDropout >= 0 && this.inputDropout < 1)) {
      throw new Error(`LocalTrainer: inputDropout must be in [0, 1), got ${options.inputDropout}`);
    }
    // Its own stream, so the batches drawn are those of a run without dropout. Trainer seeds
    // are 32-bit (deriveSeed), which the XOR keeps distinct.
    this.augmentRng = this.inputDropout > 0 ? createRng(seed ^ AUGMENT_STREAM) : null;
  }

  /** Number of steps taken. */
  get steps(): number {
    return this.adam.t;
  }

  /**
   * One local step on `params`, IN PLACE: samples an anchor and a positive per training type,
   * embeds the 2n cells, takes the N-pair loss and its gradients, applies one Adam update.
   *
   * @param params flat parameters (`parameterLayout(shape).total`), updated in place
   * @returns the loss before the update
   */
  step(params: Float32Array): number {
    if (!(params instanceof Float32Array) || params.length !== this.layout.total) {
      throw new Error(
        `LocalTrainer.step: params must be a Float32Array of length ${this.layout.total}, got ${params?.length}`,
      );
    }
    sampleNPairs(this.rng, this.groups, this.anchors, this.positives);
    // Gradients go straight into the Adam kernel's staging area when it has one.
    const grads = adamGradientBuffer(this.adam) ?? scratchBuffer('LocalTrainer.grads', this.layout.total);
    const loss = this.lossAndGradients(params, grads);
    if (!Number.isFinite(loss)) {
      throw new Error(`LocalTrainer.step: the loss is not finite (${loss}); parameters left unchanged`);
    }
    adamStep(params, grads, this.adam, this.adamOptions);
    return loss;
  }

  /** A copy of the optimiser state and the sampler position (see {@link LocalTrainerState}). */
  exportState(): LocalTrainerState {
    return {
      adam: { m: this.adam.m.slice(), v: this.adam.v.slice(), t: this.adam.t },
      rng: [...this.rng.getState()],
      steps: this.adam.t,
      ...(this.augmentRng && { augmentRng: [...this.augmentRng.getState()] }),
    };
  }

  /** Restores what {@link exportState} returned (copies it). */
  importState(state: LocalTrainerState): void {
    const { adam } = state;
    const total = this.layout.total;
    if (
      !(adam?.m instanceof Float32Array) ||
      !(adam.v instanceof Float32Array) ||
      adam.m.length !== total ||
      adam.v.length !== total ||
      !Number.isInteger(adam.t) ||
      adam.t < 0
    ) {
      throw new Error(`LocalTrainer.importState: Adam state must hold m and v of length ${total} and t >= 0`);
    }
    if (this.augmentRng && !state.augmentRng) {
      throw new Error('LocalTrainer.importState: the state has no gene-dropout generator (augmentRng)');
    }
    this.rng = rngFromState(state.rng);
    if (this.augmentRng && state.augmentRng) this.augmentRng = rngFromState(state.augmentRng);
    this.adam.m.set(adam.m);
    this.adam.v.set(adam.v);
    this.adam.t = adam.t;
  }

  /** Genes non-zero in at least one batch cell, ascending, into `activeGenes`; returns how many. */
  private markActiveGenes(): number {
    const f = this.shape.inputSize;
    const active = this.geneActive;
    active.fill(0);
    for (const cell of this.cells) {
      const row = this.values.subarray(cell * f, cell * f + f);
      for (let g = 0; g < f; g++) if (row[g] !== 0) active[g] = 1;
    }
    let count = 0;
    for (let g = 0; g < f; g++) if (active[g] === 1) this.activeGenes[count++] = g;
    return count;
  }

  /**
   * Fills `grads` (flat layout); returns the loss. Frees every tensor it makes.
   *
   * The batch and W1 go to the backend in gene chunks (`geneChunkBounds`); when compacting,
   * only the genes active in the batch, with W1's rows gathered to match and the gradient
   * scattered back (zero for the other rows).
   */
  private lossAndGradients(params: Float32Array, grads: Float32Array): number {
    const { inputSize: f, hiddenSize: h } = this.shape;
    const rows = this.cells.length;
    const nActive = this.compactGenes ? this.markActiveGenes() : f;
    const compact = nActive > 0 && nActive < COMPACT_BELOW * f;
    const w1Offset = this.layout.w1.offset;
    let bounds = this.denseBounds;
    let w1Rows = params.subarray(w1Offset, w1Offset + f * h);
    if (compact) {
      bounds = geneChunkBounds(nActive, h);
      w1Rows = scratchBuffer('LocalTrainer.w1Rows', nActive * h);
      for (let j = 0; j < nActive; j++) {
        const g = this.activeGenes[j];
        w1Rows.set(params.subarray(w1Offset + g * h, w1Offset + (g + 1) * h), j * h);
      }
    }
    this.gatherBatch(bounds, compact);
    if (this.augmentRng) this.dropBatchInputs(this.augmentRng, bounds);

    const x: tf.Tensor2D[] = [];
    for (let c = 0; c + 1 < bounds.length; c++) {
      const base = rows * bounds[c];
      const width = bounds[c + 1] - bounds[c];
      x.push(tf.tensor2d(this.batch.subarray(base, base + rows * width), [rows, width], 'float32'));
    }
    const p = uploadWithW1Rows(params, this.shape, w1Rows, bounds);
    let result: { loss: tf.Scalar; grads: ModelTensors };
    try {
      result = npairGradients(x, p);
    } finally {
      tf.dispose(x);
      disposeModelTensors(p);
    }
    // Read out after the gradient scope (reading inside a tidy makes it walk the arrays).
    try {
      const { b1, w2, b2 } = this.layout;
      const w1Target = compact ? w1Rows : grads.subarray(w1Offset, w1Offset + f * h);
      result.grads.w1.forEach((chunk, c) => readTensorInto(chunk, w1Target, bounds[c] * h));
      readTensorInto(result.grads.b1, grads, b1.offset);
      readTensorInto(result.grads.w2, grads, w2.offset);
      readTensorInto(result.grads.b2, grads, b2.offset);
      if (compact) this.scatterW1Gradient(w1Rows, nActive, grads);
      return result.loss.dataSync()[0];
    } finally {
      result.loss.dispose();
      disposeModelTensors(result.grads);
    }
  }

  /** The batch cells' values, chunk after chunk (all genes, or only the active ones). */
  private gatherBatch(bounds: Int32Array, compact: boolean): void {
    const f = this.shape.inputSize;
    const rows = this.cells.length;
    for (let c = 0; c + 1 < bounds.length; c++) {
      const start = bounds[c];
      const width = bounds[c + 1] - start;
      const base = rows * start;
      for (let r = 0; r < rows; r++) {
        const cellBase = this.cells[r] * f;
        const out = base + r * width;
        if (compact) {
          for (let j = 0; j < width; j++)
            this.batch[out + j] = this.values[cellBase + this.activeGenes[start + j]];
        } else {
          this.batch.set(this.values.subarray(cellBase + start, cellBase + start + width), out);
        }
      }
    }
  }

  /**
   * Gene dropout on the gathered batch, cell by cell and each cell's genes in ascending order
   * (chunk after chunk), so the same values are dropped with and without gene compaction (the
   * genes compaction leaves out are zero and draw nothing).
   */
  private dropBatchInputs(rng: RandomGenerator, bounds: Int32Array): void {
    const rows = this.cells.length;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c + 1 < bounds.length; c++) {
        const width = bounds[c + 1] - bounds[c];
        const start = rows * bounds[c] + r * width;
        dropInputs(rng, this.batch, start, start + width, this.inputDropout);
      }
    }
  }

  /** Gradient rows of the active genes to their places in W1's block; zero elsewhere. */
  private scatterW1Gradient(compactRows: Float32Array, nActive: number, grads: Float32Array): void {
    const { inputSize: f, hiddenSize: h } = this.shape;
    const w1Offset = this.layout.w1.offset;
    let next = 0; // first gene row not yet written
    for (let j = 0; j < nActive; j++) {
      const g = this.activeGenes[j];
      if (g > next) grads.fill(0, w1Offset + next * h, w1Offset + g * h);
      grads.set(compactRows.subarray(j * h, (j + 1) * h), w1Offset + g * h);
      next = g + 1;
    }
    if (next < f) grads.fill(0, w1Offset + next * h, w1Offset + f * h);
  }
}
