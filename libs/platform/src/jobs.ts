/**
 * The jobs the aggregator puts in an institution's queue, and what the worker answers. These are
 * the round protocol's messages (libs/federation/src/messages.ts, libs/secure-agg) carried over
 * BullMQ: binary protocol messages travel base64-encoded, vectors through the object store.
 *
 * Workers hold no storage credentials: every object a job may read or write comes with a
 * presigned URL for exactly that object (expiring), so a worker cannot reach another tenant's keys.
 */

/** An object the worker may read: presigned GET URL plus the sha256 it must have. */
export interface ReadableObject {
  key: string;
  url: string;
  sha256: string;
}

/** An object the worker may write: presigned PUT URL. */
export interface WritableObject {
  key: string;
  url: string;
}

/** What the worker reports for an object it wrote. */
export interface WrittenObject {
  key: string;
  sha256: string;
  bytes: number;
}

/** One of the institution's reference datasets. */
export type DatasetSource =
  | { kind: 'object'; datasetId: string; fileName: string; object: ReadableObject }
  | { kind: 'site'; datasetId: string; path: string };

/** Model and training settings shared by every job of a federation. */
export interface FederationSpec {
  federationId: string;
  /** Position of this institution in the federation's fixed order. */
  index: number;
  /** The institutions, in order (their names). */
  participants: string[];
  seed: number;
  learningRate: number;
  localSteps: number;
  hiddenSize: number;
  embeddingSize: number;
  allowSingletonTypes: boolean;
  /**
   * Models trained side by side (an ensemble, the ensemble presets; absent: 1). Model k starts
   * from its own seed (ensembleSeed); the federation's parameter vector holds the models one
   * after another, so each round's mean is every model's own.
   */
  ensembleSize?: number;
  /** Gene dropout of the local steps (`LocalTrainer`'s `inputDropout`); absent: none. */
  inputDropout?: number;
  /** The dropout applies only where the institution's detection rate reaches this (absent: always). */
  inputDropoutMinDetection?: number;
  datasets: DatasetSource[];
}

export interface DescribeJob {
  spec: FederationSpec;
}
export interface DescribeResult {
  genes: string[];
  nCells: number;
  /**
   * Its non-zero values over all its genes (`countDetectedValues`): with `detectedValuesPerGene`
   * it bounds the institution's share of the variable genes. Absent from workers older than it.
   */
  nDetected?: number;
  types: string[];
  typeCounts: number[];
  backend: string;
}

/** Secure-aggregation key set-up (once per key epoch). */
export interface SecAggConfigJob {
  spec: FederationSpec;
  epoch: number;
  threshold: number;
  /** Clipping range of the round updates' entries. */
  clip: number;
  /** Lane width of the masked updates (16 by default). */
  bits: 8 | 16 | 32;
  /**
   * The participants' certificates (PEM, by institution). The worker checks each against the
   * consortium root it pinned when it was certified, never against a root sent by the aggregator.
   */
  certificates: Record<string, string>;
  /** The consortium root's current signed revocation list (JSON of RevocationList). */
  revocationList: unknown;
}
export type AdvertiseJob = SecAggConfigJob;
export interface AdvertiseResult {
  envelope: string;
}
export interface ShareKeysJob extends SecAggConfigJob {
  advertisements: string[];
}
export interface ShareKeysResult {
  envelopes: string[];
}
export interface ReceiveSharesJob extends SecAggConfigJob {
  envelopes: string[];
}
export interface ReceiveSharesResult {
  received: number;
}

export interface TrainJob {
  spec: FederationSpec;
  round: number;
  genes: ReadableObject;
  /** The last full model stored (the global model when `updates` is absent or empty). */
  model: ReadableObject;
  /** The round `model` is the global model of (0: the initial model). Absent: round - 1. */
  modelRound?: number;
  /**
   * Secure aggregation's compact broadcast: consecutive aggregates ending at round - 1 and starting
   * at most at modelRound + 1 (at modelRound right after a checkpoint); the global model is `model`
   * with those after modelRound applied, or the model a worker holds with those after it applied.
   */
  updates?: { round: number; object: ReadableObject; totalWeight: number }[];
  upload: WritableObject;
  /** Present under secure aggregation: the round's participants and this institution's weight. */
  secure?: {
    epoch: number;
    threshold: number;
    clip: number;
    bits: 8 | 16 | 32;
    participants: string[];
    weight: number;
  };
}
export interface TrainResult {
  update: WrittenObject;
  /** Under secure aggregation: the signed masked-input header (wire envelope, base64). */
  maskedEnvelope?: string;
  loss: number;
  numExamples: number;
  backend: string;
  trainMs: number;
  maskMs: number;
  transferMs: number;
  /** Bytes the worker read this round to hold the global model (full model or aggregates). */
  modelBytesIn?: number;
}

/**
 * Gene statistics (the variable-genes preset), before training: the institution scores every
 * gene of the union on its own cells (normalised dispersion) and uploads the scores, masked in
 * the gene-statistics key epoch under secure aggregation, so the aggregator learns only the sum.
 */
export interface GeneScoresJob {
  spec: FederationSpec;
  /** Every institution's genes united, in federation order. */
  union: ReadableObject;
  upload: WritableObject;
  /** Present under secure aggregation: the gene-statistics epoch and the round's participants. */
  secure?: { epoch: number; round: number; participants: string[] };
}
export interface GeneScoresResult {
  scores: WrittenObject;
  /** Under secure aggregation: the signed masked-input header (wire envelope, base64). */
  maskedEnvelope?: string;
}

export interface UnmaskJob {
  spec: FederationSpec;
  round: number;
  epoch: number;
  /** The aggregator's unmask request (binary, base64). */
  request: string;
}
export interface UnmaskResult {
  envelope: string;
}

export interface LandmarksJob {
  spec: FederationSpec;
  genes: ReadableObject;
  model: ReadableObject;
  upload: WritableObject;
  /** An ensemble's further models' landmark sets go here (model k at k - 1). */
  memberUploads?: WritableObject[];
}
export interface LandmarksResult {
  landmarks: WrittenObject;
  /** An ensemble's further models' sets (model k at k - 1), each signed like the first. */
  members?: { landmarks: WrittenObject; envelope?: string }[];
  /**
   * The landmark set's bytes signed by the institution's certified key (wire envelope, base64;
   * phase 'landmarks', round 0, recipient 'server'), when it has a certified identity.
   */
  envelope?: string;
  types: string[];
  cellCounts: number[];
}

/** Job name -> [data, result]. */
export interface InstitutionJobs {
  describe: [DescribeJob, DescribeResult];
  'secagg-advertise': [AdvertiseJob, AdvertiseResult];
  'secagg-share': [ShareKeysJob, ShareKeysResult];
  'secagg-receive': [ReceiveSharesJob, ReceiveSharesResult];
  'gene-scores': [GeneScoresJob, GeneScoresResult];
  train: [TrainJob, TrainResult];
  unmask: [UnmaskJob, UnmaskResult];
  landmarks: [LandmarksJob, LandmarksResult];
}
export type InstitutionJobName = keyof InstitutionJobs;
export type JobData<N extends InstitutionJobName> = InstitutionJobs[N][0];
export type JobResult<N extends InstitutionJobName> = InstitutionJobs[N][1];

/** Deterministic job ids make every enqueue idempotent (a restarted aggregator re-adds safely). */
export function institutionJobId(
  federationId: string,
  name: InstitutionJobName,
  institution: string,
  round = 0,
  attempt = 0,
): string {
  return `${federationId}.${name}.${institution}.r${round}.a${attempt}`;
}

/** Control queue messages (api -> aggregator). */
export interface ControlJob {
  action: 'start' | 'cancel' | 'resume';
  federationId: string;
}

/** Annotation queue (api -> aggregator process). */
export interface AnnotationJobData {
  annotationJobId: string;
}
