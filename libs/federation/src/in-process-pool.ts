import { initBackend, parameterLayout, type ModelShape } from '@fl/engine';
import type { MaskPlan } from '@fl/secure-agg';
import { maskUpdate } from './mask-update';
import type { InstitutionClient, InstitutionPool } from './institution-client';
import { LocalInstitution, type InstitutionData } from './local-institution';
import type { InstitutionInfo, LandmarkSet, RoundConfig, TrainResult } from './messages';
import { institutionInfo } from './institution-info';

export interface PoolOptions {
  shape: ModelShape;
  seeds: readonly number[];
  learningRate: number;
  /** Gene dropout of every institution's local steps (0 or absent: none). */
  /** Gene dropout of each institution's local steps, in order (absent: none). */
  inputDropouts?: readonly number[];
  backend?: string;
}

class InProcessClient implements InstitutionClient {
  private maskBuffer?: Uint32Array;

  constructor(
    readonly info: InstitutionInfo,
    private readonly institution: LocalInstitution,
  ) {}

  async train(config: RoundConfig, global: Float32Array, plan?: MaskPlan): Promise<TrainResult> {
    const { loss, seconds } = this.institution.train(global, config.localSteps);
    const masked = plan && maskUpdate(this.institution.params, global, plan, this.maskBuffer);
    if (masked) this.maskBuffer = masked.vector;
    return {
      institution: this.info.index,
      params: this.institution.params,
      numExamples: this.info.numExamples,
      loss,
      seconds,
      masked,
    };
  }

  async landmarks(global: Float32Array): Promise<LandmarkSet> {
    return {
      institution: this.info.name,
      types: this.info.types,
      cellCounts: this.info.typeCounts,
      landmarks: this.institution.landmarks(global),
    };
  }
}

/** Every institution in this thread, one after another: the reference for the threaded pool. */
export async function createInProcessPool(
  institutions: readonly InstitutionData[],
  options: PoolOptions,
): Promise<InstitutionPool> {
  const backend = await initBackend(options.backend as never);
  const total = parameterLayout(options.shape).total;
  const clients = institutions.map(
    (data, i) =>
      new InProcessClient(
        institutionInfo(data, i),
        new LocalInstitution(
          data,
          {
            shape: options.shape,
            seed: options.seeds[i],
            learningRate: options.learningRate,
            inputDropout: options.inputDropouts?.[i] ?? 0,
          },
          new Float32Array(total),
        ),
      ),
  );
  return {
    clients,
    global: new Float32Array(total),
    backend,
    close: async () => {},
  };
}
