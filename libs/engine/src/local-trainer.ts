import * as tf from '@tensorflow/tfjs-core';
import { ADAM_DEFAULTS, adamStep, createAdamState, type AdamOptions, type AdamState } from './adam';
import { groupCellsByType } from './group-cells-by-type';
import { parameterLayout, type ModelShape, type ParameterLayout } from './model-shape';
import { npairGradients } from './npair-gradients';
import { readTensorInto } from './read-tensor-into';
import { createRng, rngFromState, type RandomGenerator } from './rng';
import { sampleNPairs } from './sample-npairs';
import { uploadParameters, type ModelTensors } from './upload-parameters';
import { validateShape } from './validate-shape';

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
}

/** Everything needed to resume a trainer exactly (copies, safe to post to another thread). */
export interface LocalTrainerState {
  adam: AdamState;
  /** xoroshiro128+ state of the batch sampler. */
  rng: number[];
  /** Steps taken (equals `adam.t`). */
  steps: number;
}

/**
 * One institution's local training: the N-pair loss on its labelled cells and its own Adam
 * state (never shared). Types with fewer than 2 cells are not trained on.
 */
export class LocalTrainer {
  /** Type codes in L (types with >= 2 cells), ascending. */
  readonly trainingTypes: Int32Array;
  readonly shape: ModelShape;
  private readonly layout: ParameterLayout;
  private readonly values: Float32Array;
  private readonly groups: Int32Array[];
  private readonly anchors: Int32Array;
  private readonly positives: Int32Array;
  private readonly batch: Float32Array;
  private readonly grads: Float32Array;
  private readonly adamOptions: Required<AdamOptions>;
  private adam: AdamState;
  private rng: RandomGenerator;

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
    const n = types.length;
    this.anchors = new Int32Array(n);
    this.positives = new Int32Array(n);
    this.batch = new Float32Array(2 * n * f);
    this.grads = new Float32Array(this.layout.total);
    this.adamOptions = { ...ADAM_DEFAULTS, ...options.adam, learningRate };
    this.adam = createAdamState(this.layout.total);
    this.rng = createRng(seed);
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
    this.sampleBatch();
    const n = this.groups.length;
    const loss = this.lossAndGradients(params, n);
    if (!Number.isFinite(loss)) {
      throw new Error(`LocalTrainer.step: the loss is not finite (${loss}); parameters left unchanged`);
    }
    adamStep(params, this.grads, this.adam, this.adamOptions);
    return loss;
  }

  /** A copy of the optimiser state and the sampler position (see {@link LocalTrainerState}). */
  exportState(): LocalTrainerState {
    return {
      adam: { m: this.adam.m.slice(), v: this.adam.v.slice(), t: this.adam.t },
      rng: [...this.rng.getState()],
      steps: this.adam.t,
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
    this.rng = rngFromState(state.rng);
    this.adam = { m: adam.m.slice(), v: adam.v.slice(), t: adam.t };
  }

  private sampleBatch(): void {
    sampleNPairs(this.rng, this.groups, this.anchors, this.positives);
    const f = this.shape.inputSize;
    const n = this.groups.length;
    for (let c = 0; c < n; c++) {
      const a = this.anchors[c];
      const p = this.positives[c];
      this.batch.set(this.values.subarray(a * f, a * f + f), c * f);
      this.batch.set(this.values.subarray(p * f, p * f + f), (n + c) * f);
    }
  }

  /** Fills `this.grads`; returns the loss. Frees every tensor it makes. */
  private lossAndGradients(params: Float32Array, n: number): number {
    const x = tf.tensor2d(this.batch, [2 * n, this.shape.inputSize], 'float32');
    const p = uploadParameters(params, this.shape);
    let result: { loss: tf.Scalar; grads: ModelTensors };
    try {
      result = npairGradients(x, p);
    } finally {
      x.dispose();
      disposeTensors(p);
    }
    // Read out after the gradient scope (reading inside a tidy makes it walk the arrays).
    try {
      const { grads } = result;
      const { w1, b1, w2, b2 } = this.layout;
      readTensorInto(grads.w1, this.grads, w1.offset);
      readTensorInto(grads.b1, this.grads, b1.offset);
      readTensorInto(grads.w2, this.grads, w2.offset);
      readTensorInto(grads.b2, this.grads, b2.offset);
      return result.loss.dataSync()[0];
    } finally {
      result.loss.dispose();
      disposeTensors(result.grads);
    }
  }
}

function disposeTensors(t: ModelTensors): void {
  t.w1.dispose();
  t.b1.dispose();
  t.w2.dispose();
  t.b2.dispose();
}
