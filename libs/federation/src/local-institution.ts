import { LocalTrainer, computeLandmarks, embed, type ModelShape } from '@fl/engine';
import type { LabelCodes } from './label-codes';

/** One institution's private data, already aligned to the model's genes. */
export interface InstitutionData {
  name: string;
  /** cells x genes, row-major. */
  values: Float32Array;
  nCells: number;
  labels: LabelCodes;
}

export interface LocalTrainingOptions {
  shape: ModelShape;
  seed: number;
  learningRate: number;
  /** Gene dropout of the local steps (`LocalTrainer`'s `inputDropout`); absent or 0: none. */
  inputDropout?: number;
}

/**
 * An institution's side of the round protocol, running where its data lives: a private
 * model copy and a private Adam state. Only parameters and landmarks leave it.
 */
export class LocalInstitution {
  private readonly trainer: LocalTrainer;

  /**
   * @param params its working parameter vector; may be a view on shared memory so the
   *   server reads the result without a copy.
   */
  constructor(
    private readonly data: InstitutionData,
    private readonly options: LocalTrainingOptions,
    readonly params: Float32Array,
  ) {
    this.trainer = new LocalTrainer({
      shape: options.shape,
      values: data.values,
      labelCodes: data.labels.codes,
      nTypes: data.labels.types.length,
      seed: options.seed,
      learningRate: options.learningRate,
      inputDropout: options.inputDropout,
    });
  }

  /** Takes the global model, runs `localSteps` steps on it; returns mean loss and seconds. */
  train(global: Float32Array, localSteps: number): { loss: number; seconds: number } {
    const started = performance.now();
    if (global !== this.params) this.params.set(global);
    let loss = 0;
    for (let s = 0; s < localSteps; s++) loss += this.trainer.step(this.params);
    return { loss: loss / localSteps, seconds: (performance.now() - started) / 1000 };
  }

  /** Median embedding per cell type with the given (final) model. */
  landmarks(global: Float32Array): Float32Array {
    const { shape } = this.options;
    const embeddings = embed(global, shape, this.data.values, this.data.nCells);
    return computeLandmarks(
      embeddings,
      shape.embeddingSize,
      this.data.labels.codes,
      this.data.labels.types.length,
    );
  }
}
