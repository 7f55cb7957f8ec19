import { parameterLayout, type ModelShape } from '@fl/engine';
import {
  buildGeneUnion,
  countDetectedValues,
  deriveSeed,
  ensembleSeed,
  institutionDropout,
  institutionInfo,
  LocalInstitution,
  normaliseGeneName,
  normalisedDispersions,
  prepareInstitutionData,
  type InstitutionData,
} from '@fl/federation';
import type { ExpressionMatrix } from '@fl/formats';
import {
  ConsortiumTrust,
  decodeEnvelopeWire,
  decodeUnmaskRequest,
  encodeEnvelopeWire,
  makeConfig,
  SecAggClient,
  type EnvelopeSigner,
  type RevocationList,
  wordsFor,
} from '@fl/secure-agg';
import type {
  AdvertiseJob,
  AdvertiseResult,
  DatasetSource,
  DescribeJob,
  DescribeResult,
  FederationSpec,
  GeneScoresJob,
  GeneScoresResult,
  LandmarksJob,
  LandmarksResult,
  ReadableObject,
  ReceiveSharesJob,
  ReceiveSharesResult,
  SecAggConfigJob,
  ShareKeysJob,
  ShareKeysResult,
  TrainJob,
  TrainResult,
  UnmaskJob,
  UnmaskResult,
  WritableObject,
  WrittenObject,
} from './jobs';
import { applyAggregate, decodeAggregate } from './model-chain';
import { decodeGenes, decodeWeights, encodeLandmarkSet, encodeWeights } from './model-objects';

/**
 * One institution's side of a distributed federation, independent of queues and storage: the
 * trainer worker feeds it jobs, and tests feed it directly. It holds everything private to the
 * institution: its cells, its optimiser state (inside LocalInstitution), its signing key and its
 * secure-aggregation secrets. Only what the job results carry leaves it: gene names and counts,
 * masked (or, with secure aggregation off, plain) parameters, protocol messages and landmarks.
 */

export interface InstitutionRuntimeOptions {
  /** This institution's name (its certificate's common name). */
  institution: string;
  /** Reads one of this institution's datasets (downloaded through a presigned URL, or a site path). */
  loadDataset(source: DatasetSource): Promise<ExpressionMatrix>;
  readObject(object: ReadableObject): Promise<Uint8Array>;
  writeObject(target: WritableObject, data: Uint8Array): Promise<WrittenObject>;
  /** Signs this institution's protocol messages (its certified key); needed for secure aggregation. */
  signer?: EnvelopeSigner;
  /** The consortium root this institution pinned when it was certified (PEM). */
  caCertificatePem?: string;
  /** The tensor backend in use, reported with every result. */
  backend: string;
}

/** Raised when a job needs state this process no longer has (e.g. keys lost in a restart). */
export class StateLostError extends Error {
  readonly code = 'state-lost';
}

interface FederationState {
  specKey: string;
  matrices: ExpressionMatrix[];
  genes?: { sha256: string; list: string[] };
  data?: InstitutionData;
  /**
   * One LocalInstitution per model of the ensemble (one for a single model), each training on its
   * own view of `params`: the models' parameters one after another, as the federation's vector.
   */
  locals?: LocalInstitution[];
  params?: Float32Array;
  shape?: ModelShape;
  /** Secure-aggregation clients by key epoch. */
  secagg: Map<number, SecAggClient>;
  /** Scratch for the masked vector, reused every round (first touch of 4N bytes is not free). */
  scratch?: Uint32Array;
  /** The global model this worker holds (secure aggregation's compact broadcast builds on it). */
  global?: { round: number; params: Float32Array };
}

export class InstitutionRuntime {
  private readonly federations = new Map<string, FederationState>();

  constructor(private readonly options: InstitutionRuntimeOptions) {}

  get institution(): string {
    return this.options.institution;
  }

  /** Gene names and public counts of this institution's datasets for one federation. */
  async describe(job: DescribeJob): Promise<DescribeResult> {
    const state = await this.federation(job.spec);
    const combined = combineMatrices(state.matrices, this.institution);
    const genes = buildGeneUnion(state.matrices.map((m) => m.genes));
    const labels = combined.labels ?? [];
    const counts = new Map<string, number>();
    for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
    return {
      genes,
      nCells: combined.cellIds.length,
      nDetected: countDetectedValues(combined.values),
      types: [...counts.keys()],
      typeCounts: [...counts.values()],
      backend: this.options.backend,
    };
  }

  async advertise(job: AdvertiseJob): Promise<AdvertiseResult> {
    const client = this.newSecAggClient(job);
    (await this.federation(job.spec)).secagg.set(job.epoch, client);
    return { envelope: toBase64(encodeEnvelopeWire(client.advertiseKeys())) };
  }

  async shareKeys(job: ShareKeysJob): Promise<ShareKeysResult> {
    const client = await this.secaggClient(job.spec, job.epoch);
    const envelopes = await client.shareKeys(
      job.advertisements.map((a) => decodeEnvelopeWire(fromBase64(a))),
    );
    return { envelopes: envelopes.map((e) => toBase64(encodeEnvelopeWire(e))) };
  }

  async receiveShares(job: ReceiveSharesJob): Promise<ReceiveSharesResult> {
    const client = await this.secaggClient(job.spec, job.epoch);
    client.receiveShares(job.envelopes.map((e) => decodeEnvelopeWire(fromBase64(e))));
    return { received: job.envelopes.length };
  }

  /**
   * Gene statistics before training (the variable-genes preset): each gene's normalised
   * dispersion over this institution's cells, on the union's columns as the embedded federation
   * computes it. Under secure aggregation the scores leave masked (the gene-statistics epoch's
   * keys), so only their sum over the institutions is ever seen.
   */
  async geneScores(job: GeneScoresJob): Promise<GeneScoresResult> {
    const state = await this.federation(job.spec);
    const union = await this.readGenes(job.union);
    const data = this.align(combineMatrices(state.matrices, this.institution), job.spec, union);
    const scores = normalisedDispersions(data.values, data.nCells, union.length);
    if (!job.secure) {
      return { scores: await this.options.writeObject(job.upload, encodeWeights(scores)) };
    }
    const client = await this.secaggClient(job.spec, job.secure.epoch);
    const { masked } = await client.maskInput(job.secure.round, job.secure.participants, scores);
    const { vector } = masked;
    const written = await this.options.writeObject(
      job.upload,
      new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength),
    );
    return { scores: written, maskedEnvelope: toBase64(encodeEnvelopeWire(masked.envelope)) };
  }

  /** One round: local step(s) from the global model, then the (masked) parameters go to storage. */
  async train(job: TrainJob): Promise<TrainResult> {
    const state = await this.prepared(job.spec, job.genes);
    const started = performance.now();
    const { params: global, bytesIn } = await this.globalModel(state, job);
    const fetched = performance.now();
    const perModel = parameterLayout(state.shape!).total;
    let loss = 0;
    state.locals!.forEach((local, k) => {
      loss += local.train(global.subarray(k * perModel, (k + 1) * perModel), job.spec.localSteps).loss;
    });
    loss /= state.locals!.length;
    const trained = performance.now();
    let payload: Uint8Array;
    let maskedEnvelope: string | undefined;
    if (job.secure) {
      const client = await this.secaggClient(job.spec, job.secure.epoch);
      const params = state.params!;
      const words = wordsFor(params.length, job.secure.bits);
      if (state.scratch?.length !== words) state.scratch = new Uint32Array(words);
      // The round's update (params - global), as the embedded SecureFedAvg masks it.
      const { masked } = await client.maskInput(job.round, job.secure.participants, params, {
        weight: job.secure.weight,
        out: state.scratch,
        base: global,
      });
      payload = new Uint8Array(masked.vector.buffer, masked.vector.byteOffset, masked.vector.byteLength);
      maskedEnvelope = toBase64(encodeEnvelopeWire(masked.envelope));
    } else {
      payload = encodeWeights(state.params!);
    }
    const masked = performance.now();
    const update = await this.options.writeObject(job.upload, payload);
    const uploaded = performance.now();
    return {
      update,
      maskedEnvelope,
      loss,
      numExamples: state.data!.nCells,
      backend: this.options.backend,
      trainMs: trained - fetched,
      maskMs: masked - trained,
      transferMs: fetched - started + (uploaded - masked),
      modelBytesIn: bytesIn,
    };
  }

  /**
   * The global model the round starts from. Plain rounds: the full model in the job. Secure
   * rounds: the chain (model-chain.ts): a worker that holds the model of a round in the chain
   * applies only the aggregates after it; otherwise it reads the full model and applies them all.
   */
  private async globalModel(
    state: FederationState,
    job: TrainJob,
  ): Promise<{ params: Float32Array; bytesIn: number }> {
    const total = state.params!.length;
    const updates = job.updates ?? [];
    const target = job.round - 1;
    const modelRound = job.modelRound ?? target;
    const first = updates[0]?.round ?? modelRound + 1;
    const chained =
      modelRound <= target &&
      first <= modelRound + 1 &&
      updates.every((u, i) => u.round === first + i) &&
      (updates.length === 0 ? modelRound === target : updates[updates.length - 1].round === target);
    if (!chained)
      throw new Error(`round ${job.round}: the job's model chain does not lead to round ${target}`);
    let bytesIn = 0;
    let held = state.global;
    if (!held || held.round < first - 1 || held.round > target) {
      const bytes = await this.options.readObject(job.model);
      bytesIn += bytes.byteLength;
      held = { round: modelRound, params: decodeWeights(bytes, total, job.model.key) };
    }
    if (updates.length > 0 && !job.secure)
      throw new Error('aggregates sent for a round without secure aggregation');
    for (const u of updates) {
      if (u.round <= held.round) continue;
      const bytes = await this.options.readObject(u.object);
      bytesIn += bytes.byteLength;
      const words = decodeAggregate(bytes, total, job.secure!.bits, u.object.key);
      applyAggregate(
        held.params,
        words,
        { bits: job.secure!.bits, clip: job.secure!.clip, maxSummands: job.spec.participants.length },
        u.totalWeight,
      );
      held.round = u.round;
    }
    state.global = held;
    return { params: held.params, bytesIn };
  }

  async unmask(job: UnmaskJob): Promise<UnmaskResult> {
    const client = await this.secaggClient(job.spec, job.epoch);
    const response = client.unmask(decodeUnmaskRequest(fromBase64(job.request)));
    return { envelope: toBase64(encodeEnvelopeWire(response)) };
  }

  /** Median embedding per cell type with the final model (every model's, for an ensemble). */
  async landmarks(job: LandmarksJob): Promise<LandmarksResult> {
    const state = await this.prepared(job.spec, job.genes);
    const info = institutionInfo(state.data!, job.spec.index);
    const params = decodeWeights(
      await this.options.readObject(job.model),
      state.params!.length,
      job.model.key,
    );
    const perModel = parameterLayout(state.shape!).total;
    const targets = [job.upload, ...(job.memberUploads ?? [])];
    if (targets.length !== state.locals!.length) {
      throw new Error(
        `the landmarks job has ${targets.length} upload(s) for an ensemble of ${state.locals!.length} model(s)`,
      );
    }
    const written = [];
    for (const [k, local] of state.locals!.entries()) {
      const set = {
        institution: this.institution,
        types: info.types,
        cellCounts: info.typeCounts,
        landmarks: local.landmarks(params.subarray(k * perModel, (k + 1) * perModel)),
      };
      const bytes = Buffer.from(encodeLandmarkSet(set, job.spec.embeddingSize));
      const landmarks = await this.options.writeObject(targets[k], bytes);
      // Signed like every protocol message, so nobody can pass other landmarks off as ours.
      const envelope = this.options.signer?.sign(
        { federationId: job.spec.federationId, round: 0, phase: 'landmarks', recipient: 'server' },
        bytes,
      );
      written.push({ landmarks, envelope: envelope && toBase64(encodeEnvelopeWire(envelope)) });
    }
    // The federation is over: its cells, model and secrets leave this process's memory.
    this.forget(job.spec.federationId);
    const [first, ...members] = written;
    return {
      landmarks: first.landmarks,
      types: info.types,
      cellCounts: info.typeCounts,
      envelope: first.envelope,
      ...(members.length > 0 && { members }),
    };
  }

  /** Forgets a finished federation's private state. */
  forget(federationId: string): void {
    this.federations.delete(federationId);
  }

  // ------------------------------------------------------------------------------------------

  private async federation(spec: FederationSpec): Promise<FederationState> {
    if (spec.participants[spec.index] !== this.institution) {
      throw new Error(
        `job for ${spec.participants[spec.index]} reached the worker of ${this.institution}; refusing it`,
      );
    }
    // Presigned URLs change whenever the aggregator re-signs them (e.g. after a restart): the
    // settings are everything else.
    const specKey = JSON.stringify({ ...spec, datasets: spec.datasets.map((d) => d.datasetId) });
    let state = this.federations.get(spec.federationId);
    if (state && state.specKey !== specKey) {
      throw new Error(`federation ${spec.federationId}: its settings changed between jobs`);
    }
    if (!state) {
      const matrices = [];
      for (const source of spec.datasets) matrices.push(await this.options.loadDataset(source));
      if (matrices.length === 0)
        throw new Error(`${this.institution} has no reference dataset in this federation`);
      state = { specKey, matrices, secagg: new Map() };
      this.federations.set(spec.federationId, state);
    }
    return state;
  }

  /** The federation's state with data aligned to its genes and the local model ready. */
  private async prepared(spec: FederationSpec, genesObject: ReadableObject): Promise<FederationState> {
    const state = await this.federation(spec);
    if (state.genes?.sha256 !== genesObject.sha256) {
      const genes = await this.readGenes(genesObject);
      const combined = combineMatrices(state.matrices, this.institution);
      const data = this.align(combined, spec, genes);
      // Decided on all this institution's genes, before the federation's gene selection, as
      // the embedded federation does.
      const inputDropout = institutionDropout(
        { values: combined.values, nCells: combined.cellIds.length },
        combined.genes.length,
        spec,
      ).rate;
      const shape = {
        inputSize: genes.length,
        hiddenSize: spec.hiddenSize,
        embeddingSize: spec.embeddingSize,
      };
      state.genes = { sha256: genesObject.sha256, list: genes };
      state.data = data;
      state.shape = shape;
      // The same seed streams as the embedded federation's institution at this index, in each
      // model of the ensemble (ensembleSeed: model 0 keeps the federation's seed).
      const perModel = parameterLayout(shape).total;
      const models = spec.ensembleSize ?? 1;
      state.params = new Float32Array(perModel * models);
      state.locals = Array.from(
        { length: models },
        (_, k) =>
          new LocalInstitution(
            data,
            {
              shape,
              seed: deriveSeed(ensembleSeed(spec.seed, k), spec.index),
              learningRate: spec.learningRate,
              inputDropout,
            },
            state.params!.subarray(k * perModel, (k + 1) * perModel),
          ),
      );
    }
    return state;
  }

  private async readGenes(genesObject: ReadableObject): Promise<string[]> {
    return decodeGenes(Buffer.from(await this.options.readObject(genesObject)).toString('utf8'));
  }

  /** This institution's cells on the given genes' columns, as the embedded federation aligns them. */
  private align(combined: ExpressionMatrix, spec: FederationSpec, genes: readonly string[]): InstitutionData {
    return prepareInstitutionData(
      { name: this.institution, matrix: combined },
      genes,
      spec.allowSingletonTypes,
    );
  }

  private newSecAggClient(job: SecAggConfigJob): SecAggClient {
    const { signer, caCertificatePem } = this.options;
    if (!signer || !caCertificatePem) {
      throw new Error(`${this.institution} has no certified identity; secure aggregation needs one`);
    }
    const trust = new ConsortiumTrust(caCertificatePem, job.revocationList as RevocationList);
    for (const name of job.spec.participants) {
      const pem = job.certificates[name];
      if (!pem) throw new Error(`no certificate for participant ${name}`);
      const id = trust.registerCertificate(pem);
      if (id !== name) throw new Error(`the certificate given for ${name} is ${id}'s`);
    }
    const config = makeConfig({
      federationId: job.spec.federationId,
      roster: job.spec.participants,
      threshold: job.threshold,
      epoch: job.epoch,
      clip: job.clip,
      bits: job.bits,
    });
    return new SecAggClient({ config, id: this.institution, signer, verifier: trust });
  }

  private async secaggClient(spec: FederationSpec, epoch: number): Promise<SecAggClient> {
    const client = (await this.federation(spec)).secagg.get(epoch);
    if (!client) {
      throw new StateLostError(
        `${this.institution} holds no secure-aggregation keys for epoch ${epoch} of federation ` +
          `${spec.federationId} (restarted?); a new key set-up is needed`,
      );
    }
    return client;
  }
}

/** An institution with several datasets trains on all of their cells (genes united by name). */
function combineMatrices(matrices: readonly ExpressionMatrix[], institution: string): ExpressionMatrix {
  if (matrices.length === 1) return matrices[0];
  const genes = buildGeneUnion(matrices.map((m) => m.genes));
  const index = new Map(genes.map((g, i) => [normaliseGeneName(g), i] as const));
  const nCells = matrices.reduce((n, m) => n + m.cellIds.length, 0);
  const values = new Float32Array(nCells * genes.length);
  let row = 0;
  for (const m of matrices) {
    const cols = m.genes.map((g) => index.get(normaliseGeneName(g))!);
    for (let c = 0; c < m.cellIds.length; c++, row++) {
      const src = c * m.genes.length;
      const dst = row * genes.length;
      for (let j = 0; j < cols.length; j++) values[dst + cols[j]] += m.values[src + j];
    }
  }
  return {
    source: `${institution} (${matrices.map((m) => m.source).join(', ')})`,
    cellIds: matrices.flatMap((m) => m.cellIds),
    genes,
    values,
    labels: matrices.flatMap((m) => m.labels ?? []),
  };
}

export const toBase64 = (b: Uint8Array): string =>
  Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
export const fromBase64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));
