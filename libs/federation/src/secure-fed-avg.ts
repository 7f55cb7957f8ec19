import type { LaneBits, MaskPlan, SecureAggregationSession } from '@fl/secure-agg';
import type { AggregationStrategy, Weighting } from './aggregation';
import type { SecureAggregatorKernels } from './institution-client';
import { embeddedSecureSession } from './embedded-secure-session';
import { maskUpdate } from './mask-update';
import type { InstitutionInfo, MaskedUpdate, TrainResult } from './messages';
import { DEFAULT_SECAGG_BITS, updateClip } from './update-encoding';

export interface SecureAggregationOptions {
  /** Shamir threshold t: the round completes while at least t institutions remain. Default: a majority. */
  threshold?: number;
  /** Lane width of the masked updates: 16 (default), 32 or 8. */
  bits?: LaneBits;
  /** Clipping range of the update; default updateClip(learning rate, local steps). */
  clip?: number;
  federationId?: string;
}

/** What secure aggregation did in one round, for reports and benchmarks. */
export interface SecureRoundReport {
  round: number;
  survivors: number;
  outOfRange: number;
  maskingMsMean: number;
  /** Aggregator: checking and adding the masked inputs. */
  serverCollectMs: number;
  /** Survivors answering the unmask request, mean. */
  clientUnmaskMs: number;
  serverUnmaskMs: number;
  /** Applying the decoded mean update to the global model. */
  decodeMs: number;
  /** Planning the round's masks (all institutions, before training). */
  planMs: number;
  bytesSentPerInstitution: number;
  /** Bytes of the aggregate each institution receives to apply the round (the broadcast). */
  bytesReceivedPerInstitution: number;
}

/**
 * Federated averaging where the server only ever sees masked updates (Bonawitz et al. 2017, see
 * docs/security.md): before a round, every institution plans its masks; right after its local
 * steps, in its own thread, it fixed-point encodes its update (local model minus the global model
 * it started from) in 16-bit lanes and adds its pairwise and self masks. The sum of the masked
 * vectors, once the masks are removed, is the exact sum of the encodings; every party decodes it
 * the same way and adds the mean update to the global model, so all hold the same model bits.
 *
 * Embedded, every party lives in this process: the consortium's root signs each institution's
 * certificate request, each institution signs its messages with its own key, and every message
 * is verified against the consortium's trust store, as in the distributed platform.
 */
export class SecureFedAvg implements AggregationStrategy {
  readonly name: string;
  readonly reports: SecureRoundReport[] = [];
  private plans = new Map<number, MaskPlan>();
  private planMs = 0;

  private constructor(
    private readonly session: SecureAggregationSession,
    private readonly ids: readonly string[],
    private readonly weights: ReadonlyMap<string, number> | undefined,
    weighting: Weighting,
    private readonly kernels?: SecureAggregatorKernels,
  ) {
    this.name = `secagg-fedavg-${weighting}`;
  }

  static async create(
    institutions: readonly InstitutionInfo[],
    weighting: Weighting,
    options: SecureAggregationOptions & {
      learningRate: number;
      localSteps: number;
      /** The pool's threaded aggregator loops, when it has threads. */
      kernels?: SecureAggregatorKernels;
    },
  ): Promise<SecureFedAvg> {
    const { session, ids } = await embeddedSecureSession(institutions, {
      federationId: options.federationId ?? `embedded-${Date.now()}`,
      threshold: options.threshold,
      clip: options.clip ?? updateClip(options.learningRate, options.localSteps),
      bits: options.bits ?? DEFAULT_SECAGG_BITS,
      allocateSum: options.kernels?.allocateSum,
    });
    // Cell-count weights are public summaries; the protocol scales each input by its weight.
    const largest = Math.max(...institutions.map((i) => i.numExamples));
    const weights =
      weighting === 'numExamples'
        ? new Map(institutions.map((inst, i) => [ids[i], inst.numExamples / largest] as const))
        : undefined;
    return new SecureFedAvg(session, ids, weights, weighting, options.kernels);
  }

  get threshold(): number {
    return this.session.config.threshold;
  }

  get bits(): LaneBits {
    return this.session.config.bits;
  }

  get clip(): number {
    return this.session.config.clip;
  }

  async planRound(
    round: number,
    institutions: readonly number[],
    length: number,
  ): Promise<Map<number, MaskPlan>> {
    const started = performance.now();
    const planned = await this.session.planRound(
      round,
      institutions.map((i) => this.ids[i]),
      length,
      this.weights,
    );
    this.plans = new Map(institutions.map((i) => [i, planned.plans.get(this.ids[i])!] as const));
    this.planMs = performance.now() - started;
    return this.plans;
  }

  /** `out` holds the global model the round started from; it receives base + the mean update. */
  async aggregate(round: number, results: readonly TrainResult[], out: Float32Array): Promise<void> {
    if (this.plans.size === 0 || !this.plannedFor(round)) {
      await this.planRound(
        round,
        results.map((r) => r.institution),
        out.length,
      );
    }
    const masked = new Map<string, MaskedUpdate>();
    for (const r of results) {
      // A pool that could not mask where it trained: mask here (same bits, on this thread).
      const m = r.masked ?? maskUpdate(r.params, out, this.plans.get(r.institution)!);
      masked.set(this.ids[r.institution], m);
    }
    this.plans.clear();
    const result = await this.session.completeRound(round, masked, {
      base: out,
      out,
      unmaskKernel: this.kernels?.unmask,
      applyKernel: this.kernels?.apply,
    });
    this.reports.push({
      round,
      survivors: result.survivors.length,
      outOfRange: result.outOfRange,
      maskingMsMean: result.timings.maskingMsMean,
      serverCollectMs: result.timings.serverCollectMs,
      clientUnmaskMs: result.timings.clientUnmaskMsMean,
      serverUnmaskMs: result.timings.serverUnmaskMs,
      decodeMs: result.timings.decodeMs,
      planMs: this.planMs,
      bytesSentPerInstitution: result.bytesSentPerInstitution,
      bytesReceivedPerInstitution: result.sum.byteLength,
    });
  }

  private plannedFor(round: number): boolean {
    return [...this.plans.values()].every((p) => p.round === round);
  }
}
