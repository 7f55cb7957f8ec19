import type { EnvelopeSigner, EnvelopeVerifier, SignedEnvelope } from '../envelope';
import { SecAggClient } from './client';
import { type RandomSource } from './key-agreement';
import { encodeUnmaskRequest, type MaskedInput } from './messages';
import { wordsFor, type LaneBits } from './fixed-point';
import type { MaskPlan } from './masking';
import { makeConfig, type SecAggConfig } from './params';
import {
  aggregateMean,
  applyAggregateUpdate,
  SecAggServer,
  type RoundAggregate,
  type UnmaskKernel,
} from './server';
import { envelopeWireBytes } from './wire';

/**
 * Runs the whole protocol in one process: K institution clients and the aggregator, messages
 * passed by reference, bytes counted as they would travel. For tests, benchmarks and the embedded
 * federation. The two halves stay separate objects that only exchange protocol messages, so the
 * distributed platform runs the same SecAggClient in each worker and SecAggServer in the aggregator.
 */

export interface SessionSetupOptions {
  federationId: string;
  /** The institutions, in the federation's fixed order. */
  institutions: readonly string[];
  /** Default: a majority (defaultThreshold). */
  threshold?: number;
  /** Fixed-point clipping range (default 8). */
  clip?: number;
  /** Lane width of masks and encodings (default 32). */
  bits?: LaneBits;
  /** Key epoch (default 0); `rekey()` uses the next one. */
  epoch?: number;
  /** Pair masks per institution (SecAgg+ ring); default every pair. See SecAggConfig. */
  maskDegree?: number;
  /** 'none' only for in-process runs (see SecAggConfig). Default 'sha256'. */
  vectorDigest?: 'sha256' | 'none';
  signers: ReadonlyMap<string, EnvelopeSigner>;
  verifier: EnvelopeVerifier;
  random?: RandomSource;
  /** Where the aggregator's running sum lives (see SecAggServer); shared memory for threaded kernels. */
  allocateSum?: (words: number) => Uint32Array;
}

export interface AggregateOptions {
  /** Institutions that mask their input but whose masked input never reaches the aggregator. */
  dropAfterMasking?: readonly string[];
  /** Survivors that do not answer the unmask request. */
  dropBeforeUnmask?: readonly string[];
  /** Per-institution weights in (0, 1] (public; e.g. cell count / largest cell count). Default 1. */
  weights?: ReadonlyMap<string, number>;
  /** Removes the masks from the sum; pass a threaded one for big vectors. */
  unmaskKernel?: UnmaskKernel;
  /** Update mode: applies the decoded mean update to the model (applyAggregateUpdate); threaded for big vectors. */
  applyKernel?: (aggregate: RoundAggregate, model: Float32Array) => void | Promise<void>;
  /** Where to write the mean (reused across rounds by the caller); a new array otherwise. */
  out?: Float32Array;
  /**
   * Update mode: every input is masked as x - base (the global model the round started from) and
   * the result is base + the mean update, written into `out` (which may be `base` itself).
   */
  base?: Float32Array;
  /**
   * Build each institution's masks before its input is used (prepareRound + maskPrepared), as an
   * institution would while waiting for the round; `masking` then times only the critical path
   * and `precomputeMs` the part that can be hidden.
   */
  precompute?: boolean;
}

export interface RoundTimings {
  /** Precomputing the masks (precompute mode only; off the critical path), mean per institution. */
  precomputeMsMean: number;
  /** Mean and max over institutions of plan + encode + mask + digest + sign (critical path). */
  maskingMsMean: number;
  maskingMsMax: number;
  maskingMsBy: Record<string, number>;
  /** Aggregator: signature and digest checks and the running sum, all inputs. */
  serverCollectMs: number;
  /** Survivors answering the unmask request (mean per survivor). */
  clientUnmaskMsMean: number;
  /** Aggregator: share reconstruction and mask removal. */
  serverUnmaskMs: number;
  /** Decoding the sum to the float32 mean. */
  decodeMs: number;
}

export interface SecureRoundResult {
  round: number;
  mean: Float32Array;
  /**
   * Exact modular sum of the survivors' encoded inputs (for checks and bit-exact comparisons);
   * the aggregator's buffer, valid until the next round.
   */
  sum: Uint32Array;
  survivors: string[];
  dropped: string[];
  /** Members that were given no input this round (offline at the start; not penalised). */
  absent: string[];
  /** Institutions given an input but no longer members (excluded after dropping earlier). */
  excluded: string[];
  outOfRange: number;
  outOfRangeBy: Record<string, number>;
  /** Bytes one institution sends in the round (masked-input envelope + vector + unmask response), mean. */
  bytesSentPerInstitution: number;
  /** Bytes one institution receives (its unmask request), mean over survivors. */
  bytesReceivedPerInstitution: number;
  streamsRemoved: number;
  rejected: { institution: string; reason: string }[];
  timings: RoundTimings;
}

/** A round opened by planRound: who takes part and each participant's mask plan. */
export interface PlannedRound {
  round: number;
  participants: string[];
  /** Participant -> its plan (secret keys: institution-local). */
  plans: ReadonlyMap<string, MaskPlan>;
}

export class SecureAggregationSession {
  /** One masking buffer for all in-process institutions (each hands its vector over at once). */
  private scratch: Uint32Array | null = null;
  private planned: {
    round: number;
    participants: string[];
    absent: string[];
    excluded: string[];
    length: number;
  } | null = null;

  private constructor(
    readonly config: SecAggConfig,
    readonly clients: ReadonlyMap<string, SecAggClient>,
    readonly server: SecAggServer,
    private readonly options: SessionSetupOptions,
    /** Bytes one institution sent during key set-up (advertisement + shares), mean. */
    readonly setupBytesPerInstitution: number,
    readonly setupMs: number,
  ) {}

  /** Key set-up: AdvertiseKeys and ShareKeys between all institutions, through the aggregator. */
  static async setup(opts: SessionSetupOptions): Promise<SecureAggregationSession> {
    const t0 = performance.now();
    const config = makeConfig({
      federationId: opts.federationId,
      roster: opts.institutions,
      threshold: opts.threshold,
      epoch: opts.epoch,
      clip: opts.clip,
      bits: opts.bits,
      maskDegree: opts.maskDegree,
      vectorDigest: opts.vectorDigest,
    });
    const server = new SecAggServer(config, opts.verifier, { allocateSum: opts.allocateSum });
    const clients = new Map<string, SecAggClient>();
    for (const id of config.roster) {
      const signer = opts.signers.get(id);
      if (!signer) throw new Error(`SecureAggregationSession.setup: no signer for ${id}`);
      clients.set(id, new SecAggClient({ config, id, signer, verifier: opts.verifier, random: opts.random }));
    }
    let bytes = 0;
    const ads = [...clients.values()].map((c) => c.advertiseKeys());
    for (const a of ads) bytes += envelopeWireBytes(a);
    const broadcast = server.collectAdvertisements(ads);
    const shares: SignedEnvelope[] = [];
    for (const c of clients.values()) shares.push(...(await c.shareKeys(broadcast)));
    for (const s of shares) bytes += envelopeWireBytes(s);
    const routed = server.routeShares(shares);
    for (const [id, envs] of routed) clients.get(id)!.receiveShares(envs);
    return new SecureAggregationSession(
      config,
      clients,
      server,
      opts,
      bytes / clients.size,
      performance.now() - t0,
    );
  }

  /** Members that can still take part. */
  members(): string[] {
    return this.server.memberList();
  }

  /**
   * A fresh key set-up for the whole roster (excluded institutions included) under the next key
   * epoch: what a federation does when too few members remain, or on resume after a restart.
   */
  rekey(
    signers: ReadonlyMap<string, EnvelopeSigner> = this.options.signers,
  ): Promise<SecureAggregationSession> {
    return SecureAggregationSession.setup({ ...this.options, signers, epoch: this.config.epoch + 1 });
  }

  /**
   * One secure-aggregation round: every member given an input masks it, the aggregator sums the
   * masked inputs that arrive, asks the survivors for shares and removes the masks. Round numbers
   * must increase; after RoundFailed, retry with a new number (the failed one's masks are spent).
   */
  async aggregate(
    round: number,
    inputs: ReadonlyMap<string, Float32Array>,
    opts: AggregateOptions = {},
  ): Promise<SecureRoundResult> {
    const members = new Set(this.server.memberList());
    const excluded = [...inputs.keys()].filter((id) => !members.has(id));
    const absent = [...members].filter((id) => !inputs.has(id));
    const participants = this.server.beginRound(
      round,
      [...inputs.keys()].filter((id) => members.has(id)),
    );
    const dropAfter = new Set(opts.dropAfterMasking ?? []);

    const maskingMsBy: Record<string, number> = {};
    let precomputeMs = 0;
    const sent = new Map<string, number>();
    let serverCollectMs = 0;
    const base = opts.base;
    for (const id of participants) {
      const x = inputs.get(id)!;
      const words = wordsFor(x.length, this.config.bits);
      if (this.scratch?.length !== words) this.scratch = new Uint32Array(words);
      const client = this.clients.get(id)!;
      const weight = opts.weights?.get(id) ?? 1;
      let masked: MaskedInput;
      if (opts.precompute) {
        let t = performance.now();
        const prepared = await client.prepareRound(round, participants, x.length, {
          weight,
          out: this.scratch,
        });
        precomputeMs += performance.now() - t;
        t = performance.now();
        masked = client.maskPrepared(prepared, x, base).masked;
        maskingMsBy[id] = performance.now() - t;
      } else {
        const t = performance.now();
        masked = (await client.maskInput(round, participants, x, { weight, out: this.scratch, base })).masked;
        maskingMsBy[id] = performance.now() - t;
      }
      sent.set(id, maskedInputWireBytes(masked));
      if (dropAfter.has(id)) continue;
      const s = performance.now();
      this.server.acceptMaskedInput(masked);
      serverCollectMs += performance.now() - s;
    }

    return this.closeRound(
      { round, participants, absent, excluded, length: inputs.values().next().value?.length ?? 0 },
      { sent, maskingMsBy, precomputeMs, serverCollectMs },
      opts,
    );
  }

  /**
   * Round phase 1, for masks made elsewhere (e.g. in each institution's own worker thread): the
   * aggregator opens round `round` for the members in `online`, and each participant plans its
   * masks (data-independent: keys, self-mask seed and its shares). The plans hold secret keys:
   * hand each only to its institution's thread. Then mask with masking.ts and call completeRound.
   */
  async planRound(
    round: number,
    online: readonly string[],
    length: number,
    weights?: ReadonlyMap<string, number>,
  ): Promise<PlannedRound> {
    const members = new Set(this.server.memberList());
    const participants = this.server.beginRound(
      round,
      online.filter((id) => members.has(id)),
    );
    const plans = new Map<string, MaskPlan>();
    for (const id of participants) {
      const plan = await this.clients.get(id)!.planRound(round, participants, length, weights?.get(id) ?? 1);
      plans.set(id, plan);
    }
    this.planned = {
      round,
      participants,
      absent: [...members].filter((id) => !online.includes(id)),
      excluded: online.filter((id) => !members.has(id)),
      length,
    };
    return { round, participants, plans };
  }

  /**
   * Round phase 2: each participant signs its masked vector (made from its plan), the aggregator
   * checks and sums what arrives (a participant missing from `masked` counts as dropped), asks
   * the survivors for shares and removes the masks; `base` (update mode) gets the mean update.
   */
  async completeRound(
    round: number,
    masked: ReadonlyMap<string, { vector: Uint32Array; outOfRange: number; maskingMs?: number }>,
    opts: Omit<AggregateOptions, 'dropAfterMasking' | 'precompute' | 'weights'> = {},
  ): Promise<SecureRoundResult> {
    const planned = this.planned;
    if (!planned || planned.round !== round) throw new Error(`completeRound: round ${round} was not planned`);
    this.planned = null;
    const maskingMsBy: Record<string, number> = {};
    const sent = new Map<string, number>();
    let serverCollectMs = 0;
    for (const id of planned.participants) {
      const m = masked.get(id);
      if (!m) continue;
      const input = this.clients.get(id)!.finishMaskedInput(round, m.vector, m.outOfRange);
      maskingMsBy[id] = m.maskingMs ?? 0;
      sent.set(id, maskedInputWireBytes(input));
      const t = performance.now();
      this.server.acceptMaskedInput(input);
      serverCollectMs += performance.now() - t;
    }
    return this.closeRound(planned, { sent, maskingMsBy, precomputeMs: 0, serverCollectMs }, opts);
  }

  /** Unmask requests and answers, mask removal, decoding: the end of every round. */
  private async closeRound(
    r: { round: number; participants: string[]; absent: string[]; excluded: string[]; length: number },
    m: {
      sent: Map<string, number>;
      maskingMsBy: Record<string, number>;
      precomputeMs: number;
      serverCollectMs: number;
    },
    opts: Pick<AggregateOptions, 'dropBeforeUnmask' | 'unmaskKernel' | 'applyKernel' | 'out' | 'base'>,
  ): Promise<SecureRoundResult> {
    const { round, participants, absent, excluded } = r;
    const { sent, maskingMsBy, precomputeMs } = m;
    let { serverCollectMs } = m;
    const dropUnmask = new Set(opts.dropBeforeUnmask ?? []);
    const base = opts.base;
    let s = performance.now();
    const requests = this.server.unmaskRequests();
    serverCollectMs += performance.now() - s;
    const responses: SignedEnvelope[] = [];
    let clientUnmaskMs = 0;
    let received = 0;
    for (const [id, req] of requests) {
      received += encodeUnmaskRequest(req).length;
      if (dropUnmask.has(id)) continue;
      const t = performance.now();
      const response = this.clients.get(id)!.unmask(req);
      clientUnmaskMs += performance.now() - t;
      sent.set(id, sent.get(id)! + envelopeWireBytes(response));
      responses.push(response);
    }
    s = performance.now();
    const agg: RoundAggregate = await this.server.finishRound(responses, opts.unmaskKernel);
    const serverUnmaskMs = performance.now() - s;
    s = performance.now();
    let mean: Float32Array;
    if (base) {
      mean = opts.out ?? base.slice();
      if (mean !== base) mean.set(base);
      if (opts.applyKernel) await opts.applyKernel(agg, mean);
      else applyAggregateUpdate(agg, mean);
    } else {
      mean = aggregateMean(agg, opts.out ?? new Float32Array(r.length));
    }
    const decodeMs = performance.now() - s;

    const maskTimes = Object.values(maskingMsBy);
    const survivorBytes = agg.survivors.map((id) => sent.get(id)!);
    return {
      round,
      mean,
      sum: agg.sum,
      survivors: agg.survivors,
      dropped: agg.dropped,
      absent,
      excluded,
      outOfRange: agg.outOfRange,
      outOfRangeBy: agg.outOfRangeBy,
      bytesSentPerInstitution: survivorBytes.reduce((a, b) => a + b, 0) / survivorBytes.length,
      bytesReceivedPerInstitution: received / requests.size,
      streamsRemoved: agg.streamsRemoved,
      rejected: agg.rejected,
      timings: {
        precomputeMsMean: precomputeMs / participants.length,
        maskingMsMean: maskTimes.reduce((a, b) => a + b, 0) / maskTimes.length,
        maskingMsMax: Math.max(...maskTimes),
        maskingMsBy,
        serverCollectMs,
        clientUnmaskMsMean: clientUnmaskMs / Math.max(1, responses.length),
        serverUnmaskMs,
        decodeMs,
      },
    };
  }
}

/** Wire bytes of a masked input: its envelope plus the vector's words (length-prefixed). */
export function maskedInputWireBytes(m: MaskedInput): number {
  return envelopeWireBytes(m.envelope) + 4 + m.vector.byteLength;
}
