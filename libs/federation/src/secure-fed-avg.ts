import {
  ConsortiumAuthority,
  ConsortiumTrust,
  InstitutionIdentity,
  institutionIdProblem,
  SecureAggregationSession,
  type EnvelopeSigner,
} from '@fl/secure-agg';
import type { AggregationStrategy, Weighting } from './aggregation';
import type { InstitutionInfo, TrainResult } from './messages';

export interface SecureAggregationOptions {
  /** Shamir threshold t: the round completes while at least t institutions remain. Default: a majority. */
  threshold?: number;
  /** Fixed-point clipping range (default 8; parameters here are far smaller). */
  clip?: number;
  federationId?: string;
}

/** What secure aggregation did in one round, for reports and benchmarks. */
export interface SecureRoundReport {
  round: number;
  survivors: number;
  outOfRange: number;
  maskingMsMean: number;
  serverUnmaskMs: number;
  bytesSentPerInstitution: number;
}

/** Institution ids must be certificate names; a file name that cannot be one gets a neutral id. */
function institutionIds(institutions: readonly InstitutionInfo[]): string[] {
  const ids = institutions.map((inst) =>
    institutionIdProblem(inst.name) ? `institution-${inst.index}` : inst.name,
  );
  return new Set(ids).size === ids.length ? ids : institutions.map((inst) => `institution-${inst.index}`);
}

/**
 * Federated averaging where the server only ever sees masked parameters (Bonawitz et al. 2017,
 * see docs/security.md): every institution fixed-point encodes its parameters and adds pairwise
 * and self masks; the sum of the masked vectors, once the masks are removed, is the exact sum of
 * the encodings, so the mean equals FedAvg's within the fixed-point bound.
 *
 * Embedded, every party lives in this process: the consortium's root signs each institution's
 * certificate request, each institution signs its messages with its own key, and every message
 * is verified against the consortium's trust store, as in the distributed platform.
 */
export class SecureFedAvg implements AggregationStrategy {
  readonly name: string;
  readonly reports: SecureRoundReport[] = [];

  private constructor(
    private readonly session: SecureAggregationSession,
    private readonly ids: readonly string[],
    private readonly weights: ReadonlyMap<string, number> | undefined,
    weighting: Weighting,
  ) {
    this.name = `secagg-fedavg-${weighting}`;
  }

  static async create(
    institutions: readonly InstitutionInfo[],
    weighting: Weighting,
    options: SecureAggregationOptions = {},
  ): Promise<SecureFedAvg> {
    const ids = institutionIds(institutions);
    const authority = ConsortiumAuthority.create({
      consortiumName: 'scprivacy embedded consortium',
      validDays: 365,
    });
    const trust = new ConsortiumTrust(authority.certificatePem, authority.revocationList());
    const signers = new Map<string, EnvelopeSigner>();
    for (const id of ids) {
      const identity = InstitutionIdentity.generate(id); // its private key stays in this object
      identity.installCertificate(
        authority.certify(identity.createCsr(), { institutionId: id, validDays: 30 }),
      );
      trust.registerCertificate(identity.certificatePem!);
      signers.set(id, identity.signer());
    }
    const session = await SecureAggregationSession.setup({
      federationId: options.federationId ?? `embedded-${Date.now()}`,
      institutions: ids,
      threshold: options.threshold,
      clip: options.clip,
      // Every party lives in this process: the vector cannot change between signing and summing.
      vectorDigest: 'none',
      signers,
      verifier: trust,
    });
    // Cell-count weights are public summaries; the protocol scales each input by its weight.
    const largest = Math.max(...institutions.map((i) => i.numExamples));
    const weights =
      weighting === 'numExamples'
        ? new Map(institutions.map((inst, i) => [ids[i], inst.numExamples / largest] as const))
        : undefined;
    return new SecureFedAvg(session, ids, weights, weighting);
  }

  get threshold(): number {
    return this.session.config.threshold;
  }

  async aggregate(round: number, results: readonly TrainResult[], out: Float32Array): Promise<void> {
    const inputs = new Map(results.map((r) => [this.ids[r.institution], r.params] as const));
    const result = await this.session.aggregate(round, inputs, { out, weights: this.weights });
    if (result.mean !== out) out.set(result.mean);
    this.reports.push({
      round,
      survivors: result.survivors.length,
      outOfRange: result.outOfRange,
      maskingMsMean: result.timings.maskingMsMean,
      serverUnmaskMs: result.timings.serverUnmaskMs,
      bytesSentPerInstitution: result.bytesSentPerInstitution,
    });
  }
}
