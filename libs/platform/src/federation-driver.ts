import { initParameters, type ModelShape } from '@fl/engine';
import {
  buildGeneUnion,
  DEFAULT_SECAGG_BITS,
  DISPERSION_CLIP,
  ensembleSeed,
  FedAvg,
  sumDispersionsPlain,
  topGenes,
  updateClip,
  variableGeneTotal,
  type SecureAggregationSkipped,
  type TrainingOptions,
  type Weighting,
} from '@fl/federation';
import {
  applyAggregateUpdate,
  ConsortiumTrust,
  decodeEnvelopeWire,
  defaultThreshold,
  encodeEnvelopeWire,
  encodeUnmaskRequest,
  laneView,
  makeConfig,
  ProtocolViolation,
  RoundFailed,
  SecAggServer,
  type LaneBits,
  type RevocationList,
  type RoundAggregate,
} from '@fl/secure-agg';
import { sha256Hex } from '@fl/storage';
import { effectivePlan } from './effective-plan';
import { defaultCheckpointEvery } from './retention';
import type { FederationEvent } from './events';
import { fromBase64, toBase64 } from './institution-runtime';
import {
  institutionJobId,
  type DatasetSource,
  type FederationSpec,
  type InstitutionJobName,
  type JobData,
  type JobResult,
  type ReadableObject,
  type TrainResult,
  type WrittenObject,
} from './jobs';
import { applyAggregate, decodeAggregate, encodeAggregate, type AggregateRef } from './model-chain';
import {
  decodeGenes,
  decodeWeights,
  encodeGenes,
  encodeWeights,
  type ModelVersionManifest,
  type ObjectRef,
} from './model-objects';
import { withModelRetention, type RetentionObjectPorts, type RetentionStatePort } from './model-retention';
import { objectKeys } from './object-keys';

/**
 * The aggregator's side of a distributed federation (ARCHITECTURE.md, "The flow of a
 * federation"), independent of BullMQ, Prisma and MinIO: the aggregator app supplies ports for
 * them, tests supply in-memory ones. It drives the same round protocol as the embedded federation
 * (runRounds + FedAvg / SecureFedAvg), so the same seed and data give the same model bit for bit.
 *
 * Every step is idempotent and its outcome is saved before the next one starts: job ids are
 * deterministic (a restarted aggregator re-adds a job and gets the existing one's result), and the
 * driver's state (phase, institution summaries, key set-up messages, last round and model) is
 * saved after every step, so `run()` after a restart continues where the last run stopped.
 */

export interface FederationOptions {
  rounds: number;
  localSteps: number;
  learningRate: number;
  seed: number;
  hiddenSize: number;
  embeddingSize: number;
  weighting: Weighting;
  secureAggregation: boolean;
  /** Set when secure aggregation was asked for and is not used (one institution); see effectivePlan. */
  secureAggregationSkipped?: SecureAggregationSkipped;
  /** Shamir threshold; default a majority. */
  threshold?: number;
  /** Clipping range of the round updates; default updateClip(learningRate, localSteps). */
  clip?: number;
  /** Lane width of the masked updates: 16 (default), 32 or 8. */
  secaggBits?: LaneBits;
  /** A round's institutions that have not answered by then count as dropped. */
  roundDeadlineSeconds: number;
  allowSingletonTypes?: boolean;
  /**
   * Genes of largest normalised dispersion per institution (the variable-genes preset): the model
   * trains on variableGeneTotal(variableGenes, the institutions' counts, the caps) of
   * them, chosen before the first round from the institutions' summed gene scores; 0 or absent:
   * every gene.
   */
  variableGenes?: number;
  /**
   * With `variableGenes`: each institution's share is at most this many genes per reference cell,
   * counted from the cells it reports when it describes its data; 0 or absent: no cap.
   */
  variableGenesPerCell?: number;
  /**
   * With `variableGenes`: each institution's share is at most one gene per this many values its
   * reference cells detect, counted from what it reports when it describes its data; 0 or absent:
   * no cap.
   */
  detectedValuesPerGene?: number;
  /**
   * Models trained side by side with their own seeds (the ensemble presets; absent: 1). Every
   * model version's weights hold them one after another; annotation averages their correlations.
   */
  ensembleSize?: number;
  /**
   * Gene dropout of every institution's local steps (a preset's `inputDropout`): each detected
   * value of a training cell is zeroed with this probability in a step; 0 or absent: none.
   */
  inputDropout?: number;
  /**
   * Apply the gene dropout only at institutions whose cells detect at least this fraction of
   * their genes (each worker decides on its own cells); 0 or absent: at every institution.
   */
  inputDropoutMinDetection?: number;
  /**
   * Model versions kept besides the final one and pinned ones: every k-th round (retention.ts).
   * Secure aggregation stores a full model only at those rounds (between them, each round's
   * compact aggregate). Default: ceil(rounds / 10).
   */
  checkpointEvery?: number;
}

export interface FederationPlan {
  federationId: string;
  options: FederationOptions;
  participants: { institution: string; datasets: DatasetSource[] }[];
}

export type CallOutcome<T> =
  { ok: true; result: T } | { ok: false; reason: string; timedOut: boolean; stateLost: boolean };

export interface AggregatorPorts extends RetentionObjectPorts {
  /** Puts a job in an institution's queue (idempotent by jobId) and waits for its outcome. */
  call<N extends InstitutionJobName>(
    institution: string,
    name: N,
    data: JobData<N>,
    opts: { jobId: string; deadlineMs: number },
  ): Promise<CallOutcome<JobResult<N>>>;
  putBuffer(key: string, data: Uint8Array): Promise<{ key: string; sha256: string; bytes: number }>;
  getBuffer(key: string, sha256: string): Promise<Buffer>;
  presignedGetUrl(key: string): Promise<string>;
  presignedPutUrl(key: string): Promise<string>;
  /** The consortium's trust material (secure aggregation only). */
  trust?(): Promise<{
    caCertificatePem: string;
    certificates: Record<string, string>;
    revocationList: RevocationList;
  }>;
  state: FederationStatePort;
  /**
   * Whether an institution's worker is connected now (BullMQ lists a queue's workers). Offline
   * institutions are left out of a round instead of being waited for until the deadline.
   */
  online?(institution: string): Promise<boolean>;
  /** Checked between steps: true stops the run (state saved; `run()` later resumes). */
  shouldStop?(): Promise<boolean> | boolean;
  onEvent?(event: FederationEvent): void;
}

export interface RoundRecord {
  round: number;
  status: 'completed' | 'failed';
  participants: string[];
  survivors: string[];
  dropouts: string[];
  losses: Record<string, number>;
  timings: Record<string, unknown>;
  bytesIn: number;
  bytesOut: number;
  startedAt: Date;
  error?: string;
}

export interface ModelVersionRecord {
  round: number;
  weights: { key: string; sha256: string; bytes: number };
  manifest: ModelVersionManifest;
  backend: string;
}

export interface LandmarkRecord {
  institution: string;
  /** The model of an ensemble it belongs to (0: the first or only one). */
  member: number;
  object: { key: string; sha256: string; bytes: number };
  types: string[];
  cellCounts: number[];
}

export interface FederationStatePort extends RetentionStatePort {
  load(): Promise<DriverState | null>;
  save(state: DriverState): Promise<void>;
  recordRound(record: RoundRecord): Promise<void>;
  /** Upsert by (federation, round); the parent is the previous round's version. */
  recordModelVersion(record: ModelVersionRecord): Promise<void>;
  recordLandmarks(round: number, sets: LandmarkRecord[]): Promise<void>;
}

export interface InstitutionSummary {
  institution: string;
  nCells: number;
  /** Its detected values (reported in `describe`; absent from older workers and older states). */
  nDetected?: number;
  types: string[];
  typeCounts: number[];
  backend: string;
}

/** Federation.state: what a restarted aggregator needs. JSON only. */
export interface DriverState {
  phase: 'describe' | 'genes' | 'keys' | 'rounds' | 'landmarks' | 'done';
  institutions?: InstitutionSummary[];
  /** The model's genes (set once they are chosen, when the federation chooses them). */
  genes?: ObjectRef & { count: number };
  /** Every institution's genes united: what the model's genes are chosen from (phase 'genes'). */
  union?: ObjectRef & { count: number };
  /** Secure aggregation: the last key epoch used for gene statistics (its own clip and lanes). */
  geneEpoch?: number;
  /**
   * Runs of phase 'genes' so far, minus one: each run's jobs get fresh ids, so a resume after a
   * failure asks again instead of reading the failed job's stored outcome.
   */
  geneAttempt?: number;
  /** How the model's genes were chosen (absent: every gene of the union). */
  geneSelection?: { from: number; chosen: number; secure: boolean; seconds: number };
  /** Secure aggregation: the current key epoch and its set-up messages (base64 wire envelopes). */
  secagg?: { epoch: number; advertisements: string[]; shares: string[] };
  /** Set when a dropout or lost keys call for a fresh key set-up before the next round. */
  rekey?: boolean;
  /** Attempts of the round in progress (a failed secure round is retried after a re-key). */
  attempt: number;
  /** Institution -> last completed round when its key set-up failed (it sits out for a while). */
  keyFailures?: Record<string, number>;
  /** The round in progress and who was asked to train in it (saved before its jobs are sent). */
  pending?: { round: number; attempt: number; participants: string[] };
  /** Last completed round (0: only the initial model). */
  round: number;
  /** The last full model stored: the global model of round `modelRound`. */
  model?: ObjectRef;
  /** The round `model` belongs to (absent in states saved before compact broadcast: `round`). */
  modelRound?: number;
  /**
   * Secure aggregation: the aggregates of the rounds up to `round`, from modelRound + 1 (or from
   * modelRound itself, right after a checkpoint) on (model-chain.ts).
   */
  updates?: AggregateRef[];
}

export class FederationFailed extends Error {}

const MAX_ROUND_ATTEMPTS = 3;
/** Longest institution error kept in a round's record (a worker's message, not its log). */
const MAX_CAUSE_CHARS = 500;

function clip(reason: string): string {
  return reason.length > MAX_CAUSE_CHARS ? `${reason.slice(0, MAX_CAUSE_CHARS)}…` : reason;
}
/** A worker's masked input as the server takes it: its signed header and its vector's words. */
function maskedInput(envelope: string, bytes: Uint8Array) {
  const vector = new Uint32Array(bytes.byteLength / 4);
  new Uint8Array(vector.buffer).set(bytes);
  return { envelope: decodeEnvelopeWire(fromBase64(envelope)), vector };
}

/** Rounds an institution whose key set-up failed sits out before it is tried again. */
const KEY_RETRY_ROUNDS = 10;

export class FederationDriver {
  private state: DriverState = { phase: 'describe', attempt: 0, round: 0 };
  private server: SecAggServer | null = null;
  /** Object-store time of the last secure round's masked-vector downloads (round timings). */
  private lastFetchMs = 0;
  /** The global model in memory (secure aggregation applies each round's aggregate to it). */
  private global: { round: number; params: Float32Array } | null = null;
  private readonly order: string[];
  private readonly plan: FederationPlan;
  private readonly ports: AggregatorPorts;

  constructor(plan: FederationPlan, ports: AggregatorPorts) {
    this.plan = effectivePlan(plan);
    // Every saved state is followed by pruning the model versions it no longer needs.
    this.ports = withModelRetention(this.plan, ports);
    this.order = plan.participants.map((p) => p.institution);
    if (new Set(this.order).size !== this.order.length) throw new Error('an institution is listed twice');
  }

  /** Runs (or resumes) the federation; returns the state it ended in ('done' when finished). */
  async run(): Promise<DriverState> {
    this.state = (await this.ports.state.load()) ?? this.state;
    while (this.state.phase !== 'done') {
      if (await this.ports.shouldStop?.()) return this.state;
      switch (this.state.phase) {
        case 'describe':
          await this.describe();
          break;
        case 'genes':
          await this.chooseGenes();
          break;
        case 'keys':
          await this.keySetup();
          break;
        case 'rounds':
          await this.nextRound();
          break;
        case 'landmarks':
          await this.landmarks();
          break;
      }
    }
    return this.state;
  }

  // ----------------------------------------------------------------------------- phases

  private async describe(): Promise<void> {
    const outcomes = await Promise.all(
      this.order.map((inst, i) =>
        this.ports.call(inst, 'describe', { spec: this.spec(i) }, this.opts('describe', inst)),
      ),
    );
    const summaries: InstitutionSummary[] = [];
    const geneLists: string[][] = [];
    outcomes.forEach((o, i) => {
      if (!o.ok) throw new FederationFailed(`${this.order[i]} could not describe its data: ${o.reason}`);
      geneLists.push(o.result.genes);
      const { nCells, nDetected, types, typeCounts, backend } = o.result;
      if (this.plan.options.detectedValuesPerGene && nDetected === undefined) {
        throw new FederationFailed(
          `${this.order[i]} did not report its detected values (its worker is older than the aggregator): update it, or start the federation without detectedValuesPerGene`,
        );
      }
      summaries.push({
        institution: this.order[i],
        nCells,
        ...(nDetected !== undefined && { nDetected }),
        types,
        typeCounts,
        backend,
      });
    });
    // The gene union in federation order: the embedded federation's buildGeneUnion, same input.
    const genes = buildGeneUnion(geneLists);
    this.state.institutions = summaries;
    const wanted = this.variableGeneTotal();
    if (wanted > 0 && wanted < genes.length) {
      // The model's genes are chosen from the union first (a gene-statistics round).
      const union = await this.ports.putBuffer(
        objectKeys.geneUnion(this.plan.federationId),
        Buffer.from(encodeGenes(genes)),
      );
      this.state.union = { key: union.key, sha256: union.sha256, count: genes.length };
      this.state.phase = 'genes';
      await this.ports.state.save(this.state);
    } else {
      await this.startModel(genes);
    }
    this.emit('status', 'running');
  }

  /**
   * The variable-genes preset's choice, as the embedded federation makes it (selectModelGenes):
   * every institution scores the union's genes on its own cells, the scores are summed as exact
   * fixed-point integers (through a secure round of their own under secure aggregation: the
   * aggregator sees only the sum), and the variableGenes x institutions genes of largest sum
   * are the model's.
   * Everyone must take part, as in `describe`: a sum over fewer institutions would choose other
   * genes than the embedded federation. A failure fails the federation; resuming it repeats this
   * step with fresh keys.
   */
  private async chooseGenes(): Promise<void> {
    const started = performance.now();
    const secure = this.plan.options.secureAggregation;
    const attempt = (this.state.geneAttempt ?? -1) + 1;
    this.state.geneAttempt = attempt;
    if (secure) this.state.geneEpoch = this.nextEpoch();
    await this.ports.state.save(this.state);
    const unionRef = this.state.union!;
    const union = decodeGenes((await this.ports.getBuffer(unionRef.key, unionRef.sha256)).toString('utf8'));
    const unionObject = await this.readable(unionRef);
    const summed = secure
      ? await this.sumGeneScoresSecurely(unionObject, union.length, attempt)
      : await this.sumGeneScores(unionObject, union.length, attempt);
    const chosen = topGenes(summed, this.variableGeneTotal()).map((g) => union[g]);
    this.state.geneSelection = {
      from: union.length,
      chosen: chosen.length,
      secure,
      seconds: (performance.now() - started) / 1000,
    };
    await this.startModel(chosen);
  }

  /** Secure aggregation off: the scores arrive in the clear and are summed as the embedded sum. */
  private async sumGeneScores(union: ReadableObject, nGenes: number, attempt: number): Promise<Int32Array> {
    const results = await this.all(async (inst, i) => {
      const key = objectKeys.geneScores(this.plan.federationId, inst);
      return this.ports.call(
        inst,
        'gene-scores',
        { spec: this.spec(i), union, upload: { key, url: await this.ports.presignedPutUrl(key) } },
        this.opts('gene-scores', inst, 0, attempt),
      );
    });
    const scores = await Promise.all(
      results.map(async (r) =>
        decodeWeights(await this.ports.getBuffer(r.scores.key, r.scores.sha256), nGenes, r.scores.key),
      ),
    );
    return sumDispersionsPlain(scores);
  }

  /**
   * Secure aggregation on: a key epoch of its own (the scores' clipping range and 32-bit lanes),
   * one masked round of every institution, and the unmasked sum.
   */
  private async sumGeneScoresSecurely(
    union: ReadableObject,
    nGenes: number,
    attempt: number,
  ): Promise<Int32Array> {
    const epoch = this.state.geneEpoch!;
    const params = this.geneStatisticsParams();
    const { server } = await this.exchangeKeys(epoch, params, this.order);
    const missing = this.order.filter((inst) => !server.memberList().includes(inst));
    if (missing.length > 0) {
      throw new FederationFailed(
        `${missing.join(', ')} could not set up keys for the gene statistics; resume the federation once every worker runs`,
      );
    }
    const round = 1;
    const participants = server.beginRound(round, this.order);
    const results = await this.all(async (inst, i) => {
      const key = objectKeys.geneScores(this.plan.federationId, inst);
      return this.ports.call(
        inst,
        'gene-scores',
        {
          spec: this.spec(i),
          union,
          upload: { key, url: await this.ports.presignedPutUrl(key) },
          secure: { epoch, round, participants },
        },
        this.opts('gene-scores', inst, round, attempt, epoch),
      );
    });
    // Every masked vector at once (transfers overlap), then each is checked and added.
    const vectors = await Promise.all(
      results.map((r) => this.ports.getBuffer(r.scores.key, r.scores.sha256)),
    );
    for (const [i, r] of results.entries()) {
      if (!r.maskedEnvelope) throw new FederationFailed(`${this.order[i]} sent unmasked gene scores`);
      try {
        server.acceptMaskedInput(maskedInput(r.maskedEnvelope, vectors[i]));
      } catch (e) {
        // Unlike a round, the sum cannot go on without it (other genes would be chosen).
        throw new FederationFailed(`${this.order[i]}'s gene scores were refused: ${(e as Error).message}`);
      }
    }
    const requests = server.unmaskRequests();
    const answers = await this.all(async (inst, i) =>
      this.ports.call(
        inst,
        'unmask',
        { spec: this.spec(i), round, epoch, request: toBase64(encodeUnmaskRequest(requests.get(inst)!)) },
        this.opts('unmask', inst, round, attempt, epoch),
      ),
    );
    const aggregate = await server.finishRound(
      answers.map((a) => decodeEnvelopeWire(fromBase64(a.envelope))),
    );
    return Int32Array.from(laneView(aggregate.sum, 32).subarray(0, nGenes));
  }

  /** The embedded gene-statistics session's settings (sumDispersionsSecure): same clip and lanes. */
  private geneStatisticsParams(): { threshold: number; clip: number; bits: LaneBits } {
    return { threshold: this.secaggParams().threshold, clip: DISPERSION_CLIP, bits: 32 };
  }

  /** How many genes the model keeps when it chooses them (0: every gene). */
  private variableGeneTotal(): number {
    const o = this.plan.options;
    const counts = this.state.institutions!.map((s) => ({ cells: s.nCells, detected: s.nDetected }));
    return variableGeneTotal(o.variableGenes ?? 0, counts, {
      genesPerCell: o.variableGenesPerCell,
      detectedValuesPerGene: o.detectedValuesPerGene,
    });
  }

  /** A key epoch no earlier set-up used (the gene statistics' and the rounds' share one counter). */
  private nextEpoch(): number {
    return Math.max(this.state.secagg?.epoch ?? -1, this.state.geneEpoch ?? -1) + 1;
  }

  /** Stores the model's genes and the initial model; the rounds (or their key set-up) come next. */
  private async startModel(genes: string[]): Promise<void> {
    const genesObject = await this.ports.putBuffer(
      objectKeys.genes(this.plan.federationId),
      Buffer.from(encodeGenes(genes)),
    );
    this.state.genes = { key: genesObject.key, sha256: genesObject.sha256, count: genes.length };
    // Model k of an ensemble starts where the embedded federation's model k does.
    const shape = this.shape();
    const perModel = this.modelParameterCount();
    const initial = new Float32Array(perModel * this.ensembleSize());
    for (let k = 0; k < this.ensembleSize(); k++)
      initial.set(initParameters(shape, ensembleSeed(this.plan.options.seed, k)), k * perModel);
    const model = await this.storeModel(0, initial, 'init');
    this.state.model = model;
    this.state.modelRound = 0;
    this.state.updates = [];
    this.global = { round: 0, params: initial };
    this.state.phase = this.plan.options.secureAggregation ? 'keys' : 'rounds';
    await this.ports.state.save(this.state);
  }

  /**
   * AdvertiseKeys, ShareKeys, routed shares: a fresh key epoch for the institutions online now.
   * Those that do not take part are not members of the epoch until the next set-up.
   */
  private async keySetup(): Promise<void> {
    const epoch = this.nextEpoch();
    const live = await this.onlineInstitutions(this.order);
    const tried = [...live];
    const { server, ads, shares } = await this.exchangeKeys(epoch, this.secaggParams(), live);
    this.server = server;
    const members = server.memberList();
    const failures = { ...this.state.keyFailures };
    for (const inst of this.order) {
      if (members.includes(inst)) delete failures[inst];
      else if (tried.includes(inst)) failures[inst] = this.state.round;
    }
    this.state.keyFailures = failures;
    this.state.secagg = { epoch, advertisements: ads, shares };
    this.state.rekey = false;
    this.state.phase = 'rounds';
    await this.ports.state.save(this.state);
  }

  /**
   * One key set-up among `live`: AdvertiseKeys, ShareKeys, then each institution's shares routed
   * to it. Returns the epoch's server and its set-up messages (base64 wire envelopes).
   */
  private async exchangeKeys(
    epoch: number,
    params: { threshold: number; clip: number; bits: LaneBits },
    live: readonly string[],
  ): Promise<{ server: SecAggServer; ads: string[]; shares: string[] }> {
    const base = await this.secaggJobBase(epoch, params);
    const tag = (name: InstitutionJobName, inst: string) => this.opts(name, inst, 0, 0, epoch);
    const ads = await this.some(live, (inst, i) =>
      this.ports.call(
        inst,
        'secagg-advertise',
        { ...base, spec: this.spec(i) },
        tag('secagg-advertise', inst),
      ),
    );
    const server = this.newServer(epoch, params);
    const broadcast = server.collectAdvertisements(
      [...ads.values()].map((a) => decodeEnvelopeWire(fromBase64(a.envelope))),
    );
    const broadcastB64 = broadcast.map((e) => toBase64(encodeEnvelopeWire(e)));
    const advertised = [...ads.keys()];
    const shareResults = await this.some(advertised, (inst, i) =>
      this.ports.call(
        inst,
        'secagg-share',
        { ...base, spec: this.spec(i), advertisements: broadcastB64 },
        tag('secagg-share', inst),
      ),
    );
    const shares = [...shareResults.values()].flatMap((s) => s.envelopes);
    const routed = server.routeShares(shares.map((s) => decodeEnvelopeWire(fromBase64(s))));
    await this.some(server.memberList(), (inst, i) =>
      this.ports.call(
        inst,
        'secagg-receive',
        {
          ...base,
          spec: this.spec(i),
          envelopes: (routed.get(inst) ?? []).map((e) => toBase64(encodeEnvelopeWire(e))),
        },
        tag('secagg-receive', inst),
      ),
    );
    return { server, ads: [...ads.values()].map((a) => a.envelope), shares };
  }

  private async nextRound(): Promise<void> {
    const { options } = this.plan;
    const round = this.state.round + 1;
    if (round > options.rounds) {
      this.state.phase = 'landmarks';
      await this.ports.state.save(this.state);
      return;
    }
    const startedAt = new Date();
    const started = performance.now();
    const attempt = this.state.attempt;
    let participants: string[];
    const pending = this.state.pending;
    if (pending && pending.round === round && pending.attempt === attempt) {
      // Resumed mid-round: the jobs already sent carry these participants; keep them.
      participants = pending.participants;
      if (options.secureAggregation && !this.server) await this.restoreServer();
    } else {
      participants = await this.enoughOnline(round);
      if (options.secureAggregation) {
        const members = this.server ? this.server.memberList() : (await this.restoreServer()).memberList();
        // Someone outside the epoch is back (or keys were lost): a fresh key set-up brings it in;
        // one whose key set-up just failed is left out for a while instead of re-keying forever.
        const returning = participants.filter(
          (p) => !members.includes(p) && !this.recentKeyFailure(p, round),
        );
        if (this.state.rekey || returning.length > 0) {
          this.state.phase = 'keys';
          this.server = null;
          await this.ports.state.save(this.state);
          return;
        }
        participants = participants.filter((p) => members.includes(p));
      }
      this.state.pending = { round, attempt, participants };
      await this.ports.state.save(this.state);
    }
    const model = await this.readable(this.state.model!);
    const modelRound = this.state.modelRound ?? this.state.round;
    const updates = await Promise.all(
      (this.state.updates ?? []).map(async (u) => ({
        round: u.round,
        totalWeight: u.totalWeight,
        object: await this.readable(u),
      })),
    );
    const genes = await this.readable(this.state.genes!);
    let secure: Awaited<ReturnType<FederationDriver['secureRoundSetup']>> | undefined;
    try {
      secure = options.secureAggregation ? await this.secureRoundSetup(round, participants) : undefined;
    } catch (e) {
      if (!(e instanceof RoundFailed)) throw e;
      await this.failRound(round, attempt, participants, startedAt, e.message);
      return;
    }
    const outcomes = await Promise.all(
      participants.map(async (inst) => {
        const i = this.order.indexOf(inst);
        const key = objectKeys.update(this.plan.federationId, round, inst);
        return this.ports.call(
          inst,
          'train',
          {
            spec: this.spec(i),
            round,
            genes,
            model,
            modelRound,
            updates: secure ? updates : undefined,
            upload: { key, url: await this.ports.presignedPutUrl(key) },
            secure: secure && { ...secure, weight: this.weightOf(inst) },
          },
          this.opts('train', inst, round, attempt),
        );
      }),
    );
    const dispatched = performance.now();
    const results = new Map<string, TrainResult>();
    const dropouts: string[] = [];
    // Why each dropout did not answer: the institution's own error is what a failed round's
    // record (and so the federation's error) must show, not only the count that fell short.
    const causes: string[] = [];
    outcomes.forEach((o, i) => {
      if (o.ok) results.set(participants[i], o.result);
      else {
        dropouts.push(participants[i]);
        causes.push(`${participants[i]}: ${clip(o.reason)}`);
        if (o.stateLost) this.state.rekey = true;
      }
    });
    if (dropouts.length > 0 && options.secureAggregation) this.state.rekey = true;
    const losses = Object.fromEntries([...results].map(([inst, r]) => [inst, r.loss]));
    const institutionTimings = Object.fromEntries(
      [...results].map(([inst, r]) => [
        inst,
        {
          trainMs: r.trainMs,
          maskMs: r.maskMs,
          transferMs: r.transferMs,
          backend: r.backend,
          modelBytesIn: r.modelBytesIn,
        },
      ]),
    );
    const bytesIn = [...results.values()].reduce((n, r) => n + r.update.bytes, 0);
    let mean: Float32Array;
    let aggregate: RoundAggregate | undefined;
    this.lastFetchMs = 0;
    const rejected: string[] = [];
    try {
      if (options.secureAggregation) {
        aggregate = await this.secureAggregate(round, attempt, results, rejected);
        mean = await this.applyToGlobal(aggregate);
      } else {
        mean = await this.plainMean(round, results);
      }
    } catch (e) {
      const roundLevel =
        e instanceof RoundFailed || e instanceof FederationFailed || e instanceof ProtocolViolation;
      if (!roundLevel) throw e;
      await this.failRound(
        round,
        attempt,
        participants,
        startedAt,
        [...causes, e.message, ...rejected].join('; '),
        {
          survivors: [...results.keys()],
          dropouts,
          losses,
          timings: { institutions: institutionTimings },
          bytesIn,
        },
      );
      return;
    }
    for (const r of rejected) {
      const inst = r.slice(0, r.indexOf(':'));
      dropouts.push(inst);
      delete losses[inst];
      this.state.rekey = true;
    }
    const aggregated = performance.now();
    const backend = [...results.values()][0]?.backend ?? 'unknown';
    // Secure: publish the round's aggregate (compact); a full model only at checkpoints.
    const stored = aggregate
      ? await this.storeAggregate(round, aggregate, mean, backend)
      : await this.storeModel(round, mean, backend);
    const finished = performance.now();
    const survivors = participants.filter((p) => results.has(p));
    await this.ports.state.recordRound({
      round,
      status: 'completed',
      participants,
      survivors,
      dropouts,
      losses,
      timings: {
        institutions: institutionTimings,
        waitMs: dispatched - started,
        aggregateMs: aggregated - dispatched,
        // Of aggregateMs: waiting for the masked vectors from the object store.
        fetchMs: this.lastFetchMs,
        storeMs: finished - aggregated,
        totalMs: finished - started,
      },
      bytesIn,
      bytesOut: stored.bytes * participants.length,
      startedAt,
    });
    this.state.round = round;
    this.state.attempt = 0;
    if (!aggregate) {
      this.state.model = { key: stored.key, sha256: stored.sha256 };
      this.state.modelRound = round;
    }
    await this.ports.state.save(this.state);
    const lossValues = Object.values(losses);
    this.emit('round', 'running', {
      meanLoss: lossValues.reduce((a, b) => a + b, 0) / Math.max(1, lossValues.length),
      survivors,
      dropouts,
      seconds: (finished - started) / 1000,
    });
  }

  /** Records a failed round; the previous model stays and the round is retried (after a re-key). */
  private async failRound(
    round: number,
    attempt: number,
    participants: string[],
    startedAt: Date,
    error: string,
    detail: Partial<RoundRecord> = {},
  ): Promise<void> {
    await this.ports.state.recordRound({
      round,
      status: 'failed',
      participants,
      survivors: [],
      dropouts: [],
      losses: {},
      timings: {},
      bytesIn: 0,
      bytesOut: 0,
      startedAt,
      error,
      ...detail,
    });
    this.state.attempt = attempt + 1;
    this.state.rekey = this.plan.options.secureAggregation;
    this.server = this.plan.options.secureAggregation ? null : this.server;
    if (this.state.attempt >= MAX_ROUND_ATTEMPTS) {
      // The last attempt's record, causes first: it becomes the federation's error.
      throw new FederationFailed(`round ${round} failed ${MAX_ROUND_ATTEMPTS} times: ${error}`);
    }
    await this.ports.state.save(this.state);
  }

  /** Fewest institutions a round needs: the Shamir threshold, or the plain-mode threshold. */
  private minimumParticipants(): number {
    return this.plan.options.secureAggregation
      ? this.secaggParams().threshold
      : (this.plan.options.threshold ?? 1);
  }

  /**
   * The institutions online now; if fewer than a round needs, waits for more up to the round
   * deadline, then fails the federation cleanly (it can be resumed once enough are back).
   */
  private async enoughOnline(round: number): Promise<string[]> {
    const minimum = this.minimumParticipants();
    const until = Date.now() + this.deadlineMs();
    for (;;) {
      const online = await this.onlineInstitutions(this.order);
      if (online.length >= minimum) return online;
      if (Date.now() >= until || (await this.ports.shouldStop?.())) {
        throw new FederationFailed(
          `round ${round}: only ${online.length} of ${this.order.length} institutions are online ` +
            `(${online.join(', ') || 'none'}); a round needs ${minimum}. Resume the federation once enough workers run.`,
        );
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  private async landmarks(): Promise<void> {
    const model = await this.readable(this.state.model!);
    const genes = await this.readable(this.state.genes!);
    const writable = async (key: string) => ({ key, url: await this.ports.presignedPutUrl(key) });
    const further = Array.from({ length: this.ensembleSize() - 1 }, (_, k) => k + 1);
    const sets = await this.all(async (inst, i) =>
      this.ports.call(
        inst,
        'landmarks',
        {
          spec: this.spec(i),
          genes,
          model,
          upload: await writable(objectKeys.landmarks(this.plan.federationId, inst)),
          ...(further.length > 0 && {
            memberUploads: await Promise.all(
              further.map((k) => writable(objectKeys.landmarks(this.plan.federationId, inst, k))),
            ),
          }),
        },
        this.opts('landmarks', inst, this.state.round),
      ),
    );
    // Every model's set of every institution, model by model.
    const records: LandmarkRecord[] = [];
    const signed: { inst: string; object: WrittenObject; envelope?: string }[] = [];
    for (let k = 0; k < this.ensembleSize(); k++) {
      sets.forEach((s, i) => {
        const inst = this.order[i];
        const own = k === 0 ? { landmarks: s.landmarks, envelope: s.envelope } : s.members?.[k - 1];
        if (!own) throw new FederationFailed(`${inst} sent no landmarks for model ${k + 1} of the ensemble`);
        signed.push({ inst, object: own.landmarks, envelope: own.envelope });
        records.push({
          institution: inst,
          member: k,
          object: own.landmarks,
          types: s.types,
          cellCounts: s.cellCounts,
        });
      });
    }
    if (this.plan.options.secureAggregation) {
      const trust = await this.verifier();
      for (const { inst, object, envelope } of signed) {
        if (!envelope) throw new FederationFailed(`${inst} sent unsigned landmarks`);
        const payload = trust.verify(decodeEnvelopeWire(fromBase64(envelope)), {
          federationId: this.plan.federationId,
          round: 0,
          phase: 'landmarks',
          recipient: 'server',
          sender: inst,
        });
        if (sha256Hex(payload) !== object.sha256) {
          throw new FederationFailed(`${inst}'s stored landmarks are not the ones it signed`);
        }
      }
    }
    await this.ports.state.recordLandmarks(this.state.round, records);
    this.state.phase = 'done';
    await this.ports.state.save(this.state);
    this.emit('status', 'completed');
  }

  // ----------------------------------------------------------------------------- aggregation

  private async plainMean(round: number, results: Map<string, TrainResult>): Promise<Float32Array> {
    const minimum = Math.max(1, this.plan.options.threshold ?? 1);
    if (results.size < minimum) {
      throw new FederationFailed(
        `round ${round}: ${results.size} institution(s) answered, the round needs ${minimum}`,
      );
    }
    const total = this.parameterCount();
    const trainResults = await Promise.all(
      [...results].map(async ([inst, r]) => ({
        institution: this.order.indexOf(inst),
        params: decodeWeights(await this.ports.getBuffer(r.update.key, r.update.sha256), total, r.update.key),
        numExamples: r.numExamples,
        loss: r.loss,
        seconds: r.trainMs / 1000,
      })),
    );
    const out = new Float32Array(total);
    await new FedAvg(this.plan.options.weighting).aggregate(round, trainResults, out);
    return out;
  }

  private async secureAggregate(
    round: number,
    attempt: number,
    results: Map<string, TrainResult>,
    rejected: string[],
  ): Promise<RoundAggregate> {
    const server = this.server!;
    // Fetch every masked vector at once (transfers overlap), then check and add them in turn.
    const fetched = new Map(
      [...results].map(([inst, r]) => [
        inst,
        this.ports.getBuffer(r.update.key, r.update.sha256).then(
          (b) => b,
          (e: Error) => e,
        ),
      ]),
    );
    const fetchStarted = performance.now();
    await Promise.all(fetched.values());
    this.lastFetchMs = performance.now() - fetchStarted;
    for (const [inst, r] of [...results]) {
      try {
        if (!r.maskedEnvelope) throw new Error('an unmasked update under secure aggregation');
        const bytes = await fetched.get(inst)!;
        if (bytes instanceof Error) throw bytes;
        server.acceptMaskedInput(maskedInput(r.maskedEnvelope, bytes));
      } catch (e) {
        // A refused input (bad signature, wrong round or participants, damaged object) counts as
        // a dropout: the survivors' sum is still exact, and the institution re-keys next round.
        results.delete(inst);
        rejected.push(`${inst}: ${(e as Error).message}`);
      }
    }
    const requests = server.unmaskRequests(); // RoundFailed below t: nothing is revealed
    const epoch = this.state.secagg!.epoch;
    const answers = await Promise.all(
      [...requests].map(([inst, req]) =>
        this.ports.call(
          inst,
          'unmask',
          {
            spec: this.spec(this.order.indexOf(inst)),
            round,
            epoch,
            request: toBase64(encodeUnmaskRequest(req)),
          },
          this.opts('unmask', inst, round, attempt),
        ),
      ),
    );
    const responses = answers.flatMap((a) =>
      a.ok ? [decodeEnvelopeWire(fromBase64(a.result.envelope))] : [],
    );
    return server.finishRound(responses);
  }

  /** The global model of the last completed round: in memory, or rebuilt from the chain. */
  private async currentGlobal(): Promise<Float32Array> {
    if (this.global?.round === this.state.round) return this.global.params;
    const total = this.parameterCount();
    const model = this.state.model!;
    const params = decodeWeights(await this.ports.getBuffer(model.key, model.sha256), total, model.key);
    const after = this.state.modelRound ?? this.state.round;
    for (const u of (this.state.updates ?? []).filter((x) => x.round > after)) {
      const words = decodeAggregate(
        await this.ports.getBuffer(u.key, u.sha256),
        total,
        this.secaggBits(),
        u.key,
      );
      applyAggregate(params, words, this.updateEncoding(), u.totalWeight);
    }
    this.global = { round: this.state.round, params };
    return params;
  }

  /** The next global model: the current one plus the round's decoded mean update (a new array). */
  private async applyToGlobal(aggregate: RoundAggregate): Promise<Float32Array> {
    const next = (await this.currentGlobal()).slice();
    return applyAggregateUpdate(aggregate, next);
  }

  /**
   * Stores a secure round's outcome: its aggregate always (what the workers read next round), and
   * the full model when the round is a checkpoint. Keeps `mean` as the in-memory global model.
   */
  private async storeAggregate(
    round: number,
    aggregate: RoundAggregate,
    mean: Float32Array,
    backend: string,
  ) {
    const object = await this.ports.putBuffer(
      objectKeys.aggregate(this.plan.federationId, round),
      encodeAggregate(aggregate.sum),
    );
    this.global = { round, params: mean };
    const ref = { round, key: object.key, sha256: object.sha256, totalWeight: aggregate.totalWeight };
    if (this.isCheckpoint(round)) {
      const full = await this.storeModel(round, mean, backend);
      this.state.model = { key: full.key, sha256: full.sha256 };
      this.state.modelRound = round;
      // Kept so workers holding the previous round's model still apply it instead of reading the
      // full model; a worker that holds nothing reads the checkpoint.
      this.state.updates = [ref];
    } else {
      this.state.updates = [...(this.state.updates ?? []), ref];
    }
    return object;
  }

  /** Rounds whose full model is stored under secure aggregation: every k-th and the last. */
  private isCheckpoint(round: number): boolean {
    const { rounds } = this.plan.options;
    const every = this.plan.options.checkpointEvery ?? defaultCheckpointEvery(rounds);
    return round === rounds || round % every === 0;
  }

  /** Opens the secure round on the (possibly rebuilt) server; returns what the train jobs carry. */
  private async secureRoundSetup(round: number, participants: string[]) {
    const server = this.server ?? (await this.restoreServer());
    const inRound = server.beginRound(round, participants);
    const { threshold, clip, bits } = this.secaggParams();
    return { epoch: this.state.secagg!.epoch, threshold, clip, bits, participants: inRound };
  }

  /** Failed its last key set-up less than KEY_RETRY_ROUNDS rounds ago. */
  private recentKeyFailure(inst: string, round: number): boolean {
    const at = this.state.keyFailures?.[inst];
    return at !== undefined && round - at <= KEY_RETRY_ROUNDS;
  }

  /** A restarted aggregator: replays this epoch's key set-up messages into a fresh server. */
  private async restoreServer(): Promise<SecAggServer> {
    const { epoch, advertisements, shares } = this.state.secagg!;
    const server = this.newServer(epoch, this.secaggParams(), await this.verifier());
    server.collectAdvertisements(advertisements.map((a) => decodeEnvelopeWire(fromBase64(a))));
    server.routeShares(shares.map((s) => decodeEnvelopeWire(fromBase64(s))));
    this.server = server;
    return server;
  }

  private async onlineInstitutions(candidates: readonly string[]): Promise<string[]> {
    if (!this.ports.online) return [...candidates];
    const flags = await Promise.all(candidates.map((c) => this.ports.online!(c)));
    return candidates.filter((_, i) => flags[i]);
  }

  /** Calls the given institutions; returns the answers of those that answered. */
  private async some<T>(
    institutions: readonly string[],
    call: (inst: string, index: number) => Promise<CallOutcome<T>>,
  ): Promise<Map<string, T>> {
    const outcomes = await Promise.all(institutions.map((inst) => call(inst, this.order.indexOf(inst))));
    const answered = new Map<string, T>();
    outcomes.forEach((o, i) => {
      if (o.ok) answered.set(institutions[i], o.result);
    });
    return answered;
  }

  // ----------------------------------------------------------------------------- helpers

  private verifierCache: ConsortiumTrust | null = null;
  private async verifier(): Promise<ConsortiumTrust> {
    if (!this.verifierCache) {
      if (!this.ports.trust)
        throw new FederationFailed('secure aggregation needs the consortium trust material');
      const t = await this.ports.trust();
      const trust = new ConsortiumTrust(t.caCertificatePem, t.revocationList);
      for (const inst of this.order) {
        const pem = t.certificates[inst];
        if (!pem)
          throw new FederationFailed(`${inst} has no certificate; certify it before a secure federation`);
        trust.registerCertificate(pem);
      }
      this.verifierCache = trust;
    }
    return this.verifierCache;
  }

  private newServer(
    epoch: number,
    params: { threshold: number; clip: number; bits: LaneBits },
    verifier?: ConsortiumTrust,
  ): SecAggServer {
    const { threshold, clip, bits } = params;
    const config = makeConfig({
      federationId: this.plan.federationId,
      roster: this.order,
      threshold,
      epoch,
      clip,
      bits,
    });
    if (verifier) return new SecAggServer(config, verifier);
    if (!this.verifierCache) throw new Error('verifier not loaded');
    return new SecAggServer(config, this.verifierCache);
  }

  private async secaggJobBase(epoch: number, params: { threshold: number; clip: number; bits: LaneBits }) {
    await this.verifier();
    const t = await this.ports.trust!();
    const { threshold, clip, bits } = params;
    return { epoch, threshold, clip, bits, certificates: t.certificates, revocationList: t.revocationList };
  }

  /** The embedded SecureFedAvg's settings for the same options (same clip, same lanes). */
  private secaggParams(): { threshold: number; clip: number; bits: LaneBits } {
    const { threshold, clip, learningRate, localSteps } = this.plan.options;
    return {
      threshold: threshold ?? defaultThreshold(this.order.length),
      clip: clip ?? updateClip(learningRate, localSteps),
      bits: this.secaggBits(),
    };
  }

  private secaggBits(): LaneBits {
    return this.plan.options.secaggBits ?? DEFAULT_SECAGG_BITS;
  }

  private updateEncoding() {
    const { clip, bits } = this.secaggParams();
    return { clip, bits, maxSummands: this.order.length };
  }

  /** SecureFedAvg's public weights: cell count / largest cell count, or 1 (uniform). */
  private weightOf(inst: string): number {
    if (this.plan.options.weighting !== 'numExamples') return 1;
    const summaries = this.state.institutions!;
    const largest = Math.max(...summaries.map((s) => s.nCells));
    return summaries.find((s) => s.institution === inst)!.nCells / largest;
  }

  private shape(): ModelShape {
    const { hiddenSize, embeddingSize } = this.plan.options;
    return { inputSize: this.state.genes!.count, hiddenSize, embeddingSize };
  }

  /** One model's parameters. */
  private modelParameterCount(): number {
    const { inputSize, hiddenSize, embeddingSize } = this.shape();
    return inputSize * hiddenSize + hiddenSize + hiddenSize * embeddingSize + embeddingSize;
  }

  /** Models trained side by side (1 but for the ensemble presets). */
  private ensembleSize(): number {
    return this.plan.options.ensembleSize ?? 1;
  }

  /** The federation's parameter vector: every model's parameters, one model after another. */
  private parameterCount(): number {
    return this.modelParameterCount() * this.ensembleSize();
  }

  private trainingOptions(): TrainingOptions {
    const o = this.plan.options;
    return {
      rounds: o.rounds,
      localSteps: o.localSteps,
      learningRate: o.learningRate,
      seed: o.seed,
      hiddenSize: o.hiddenSize,
      embeddingSize: o.embeddingSize,
      weighting: o.weighting,
      aggregation: `${o.secureAggregation ? 'secagg-' : ''}fedavg-${o.weighting}`,
      ...(o.variableGenes ? { variableGenes: o.variableGenes } : {}),
      ...(o.variableGenes && o.variableGenesPerCell ? { variableGenesPerCell: o.variableGenesPerCell } : {}),
      ...(o.variableGenes && o.detectedValuesPerGene
        ? { detectedValuesPerGene: o.detectedValuesPerGene }
        : {}),
      ...(this.ensembleSize() > 1 && { ensembleSize: this.ensembleSize() }),
      ...(o.inputDropout ? { inputDropout: o.inputDropout } : {}),
      ...(o.inputDropout && o.inputDropoutMinDetection
        ? { inputDropoutMinDetection: o.inputDropoutMinDetection }
        : {}),
      ...(o.secureAggregationSkipped && { secureAggregationSkipped: o.secureAggregationSkipped }),
    };
  }

  private async storeModel(round: number, params: Float32Array, backend: string) {
    const weights = await this.ports.putBuffer(
      objectKeys.model(this.plan.federationId, round),
      encodeWeights(params),
    );
    await this.ports.state.recordModelVersion({
      round,
      weights,
      backend,
      manifest: {
        shape: this.shape(),
        options: this.trainingOptions(),
        genes: this.state.genes!,
        institutions: this.state.institutions!.map((s) => ({
          name: s.institution,
          numExamples: s.nCells,
          types: s.types,
          typeCounts: s.typeCounts,
        })),
        // Per model: the object holds ensembleSize models of this many floats.
        parameterCount: this.modelParameterCount(),
      },
    });
    return weights;
  }

  private async readable(ref: ObjectRef): Promise<ReadableObject> {
    return { key: ref.key, sha256: ref.sha256, url: await this.ports.presignedGetUrl(ref.key) };
  }

  private spec(index: number): FederationSpec {
    const o = this.plan.options;
    return {
      federationId: this.plan.federationId,
      index,
      participants: this.order,
      seed: o.seed,
      learningRate: o.learningRate,
      localSteps: o.localSteps,
      hiddenSize: o.hiddenSize,
      embeddingSize: o.embeddingSize,
      allowSingletonTypes: o.allowSingletonTypes ?? false,
      ...(this.ensembleSize() > 1 && { ensembleSize: this.ensembleSize() }),
      ...(o.inputDropout ? { inputDropout: o.inputDropout } : {}),
      ...(o.inputDropout && o.inputDropoutMinDetection
        ? { inputDropoutMinDetection: o.inputDropoutMinDetection }
        : {}),
      datasets: this.plan.participants[index].datasets,
    };
  }

  private deadlineMs(): number {
    return this.plan.options.roundDeadlineSeconds * 1000;
  }

  private opts(
    name: InstitutionJobName,
    inst: string,
    round = 0,
    attempt = 0,
    epoch = this.state.secagg?.epoch ?? 0,
    deadlineMs = this.deadlineMs(),
  ) {
    // Epoch in the id: a re-keyed retry of a round is a new job, a resumed one is the same job.
    return {
      jobId: `${institutionJobId(this.plan.federationId, name, inst, round, attempt)}.e${epoch}`,
      deadlineMs,
    };
  }

  /** Calls every institution; any failure fails the step (set-up and landmarks need everyone). */
  private async all<T>(call: (inst: string, index: number) => Promise<CallOutcome<T>>): Promise<T[]> {
    const outcomes = await Promise.all(this.order.map((inst, i) => call(inst, i)));
    return outcomes.map((o, i) => {
      if (!o.ok) throw new FederationFailed(`${this.order[i]}: ${o.reason}`);
      return o.result;
    });
  }

  private emit(kind: FederationEvent['kind'], status: string, extra: Partial<FederationEvent> = {}): void {
    this.ports.onEvent?.({
      federationId: this.plan.federationId,
      kind,
      status,
      round: this.state.round,
      rounds: this.plan.options.rounds,
      at: new Date().toISOString(),
      ...extra,
    });
  }
}
