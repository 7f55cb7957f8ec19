import { initBackend } from '@fl/engine';
import { readExpression, type ExpressionMatrix } from '@fl/formats';
import { sha256Hex } from '@fl/storage';
import { ConsortiumAuthority, InstitutionIdentity, type RevocationList } from '@fl/secure-agg';
import {
  FederationDriver,
  type AggregatorPorts,
  type CallOutcome,
  type DriverState,
  type FederationOptions,
  type FederationStatePort,
  type LandmarkRecord,
  type ModelVersionRecord,
  type RoundRecord,
} from '../federation-driver';
import { InstitutionRuntime, StateLostError } from '../institution-runtime';
import type { InstitutionJobName, JobData, JobResult } from '../jobs';

/**
 * A whole distributed federation in one process, with in-memory stand-ins for the queue, the
 * object store and Postgres: for tests of the protocol logic that must not depend on services
 * (the real services are exercised by the apps' integration and end-to-end tests).
 */

export class MemoryStore {
  readonly objects = new Map<string, Buffer>();
  async putBuffer(key: string, data: Uint8Array) {
    const copy = Buffer.from(data);
    this.objects.set(key, copy);
    return { key, sha256: sha256Hex(copy), bytes: copy.byteLength };
  }
  async getBuffer(key: string, expected: string): Promise<Buffer> {
    const b = this.objects.get(key);
    if (!b) throw new Error(`no object ${key}`);
    if (sha256Hex(b) !== expected) throw new Error(`${key}: sha256 mismatch`);
    return b;
  }
  async list(prefix: string): Promise<string[]> {
    return [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
  }
  async remove(key: string): Promise<void> {
    this.objects.delete(key);
  }
  url(key: string): string {
    return `mem://${key}`;
  }
  keyOf(url: string): string {
    return url.slice('mem://'.length);
  }
}

export class MemoryState implements FederationStatePort {
  state: DriverState | null = null;
  rounds: RoundRecord[] = [];
  versions = new Map<number, ModelVersionRecord>();
  /** Rounds whose version a user pinned (retention never deletes them). */
  pinned = new Set<number>();
  landmarks: LandmarkRecord[] = [];
  async load() {
    return this.state && (JSON.parse(JSON.stringify(this.state)) as DriverState);
  }
  async save(s: DriverState) {
    this.state = JSON.parse(JSON.stringify(s)) as DriverState;
  }
  async recordRound(r: RoundRecord) {
    this.rounds.push(r);
  }
  async recordModelVersion(v: ModelVersionRecord) {
    this.versions.set(v.round, v);
  }
  async recordLandmarks(_round: number, sets: LandmarkRecord[]) {
    this.landmarks = sets;
  }
  async modelVersions() {
    return [...this.versions.values()].map((v) => ({
      round: v.round,
      pinned: this.pinned.has(v.round),
      objectKey: v.weights.key,
    }));
  }
  async deleteModelVersion(round: number) {
    if (this.pinned.has(round)) return false;
    return this.versions.delete(round);
  }
}

export interface MemoryFederationOptions {
  /** Institution name -> its reference file. */
  references: { institution: string; path: string }[];
  options: FederationOptions;
  federationId?: string;
}

/** Hooks for fault tests: make a call fail as a dead or restarted worker would. */
export type CallInterceptor = (
  institution: string,
  name: InstitutionJobName,
  data: unknown,
) => CallOutcome<never> | undefined;

export class MemoryFederation {
  readonly store = new MemoryStore();
  readonly state = new MemoryState();
  readonly runtimes = new Map<string, InstitutionRuntime>();
  readonly calls: { institution: string; name: InstitutionJobName; jobId: string }[] = [];
  intercept: CallInterceptor | undefined;
  /** Institutions whose worker is not running (the driver's `online` port says so). */
  readonly offline = new Set<string>();
  private readonly results = new Map<string, CallOutcome<unknown>>();
  private trustMaterial?: {
    caCertificatePem: string;
    certificates: Record<string, string>;
    revocationList: RevocationList;
  };
  private readonly identities = new Map<string, InstitutionIdentity>();
  private readonly matrices = new Map<string, ExpressionMatrix>();

  private constructor(readonly opts: MemoryFederationOptions) {}

  static async create(opts: MemoryFederationOptions): Promise<MemoryFederation> {
    await initBackend('cpu' as never);
    const fed = new MemoryFederation(opts);
    for (const ref of opts.references) {
      fed.matrices.set(ref.institution, await readExpression(ref.path, { role: 'reference' }));
    }
    if (opts.options.secureAggregation) {
      const authority = ConsortiumAuthority.create({ consortiumName: 'test consortium', validDays: 365 });
      const certificates: Record<string, string> = {};
      for (const ref of opts.references) {
        const identity = InstitutionIdentity.generate(ref.institution);
        identity.installCertificate(
          authority.certify(identity.createCsr(), { institutionId: ref.institution, validDays: 30 }),
        );
        certificates[ref.institution] = identity.certificatePem!;
        fed.identities.set(ref.institution, identity);
      }
      fed.trustMaterial = {
        caCertificatePem: authority.certificatePem,
        certificates,
        revocationList: authority.revocationList(),
      };
    }
    for (const ref of opts.references) fed.restartWorker(ref.institution);
    return fed;
  }

  /** A fresh runtime for the institution: everything it held in memory is gone. */
  restartWorker(institution: string): void {
    const identity = this.identities.get(institution);
    this.runtimes.set(
      institution,
      new InstitutionRuntime({
        institution,
        backend: 'cpu',
        loadDataset: async () => this.matrices.get(institution)!,
        readObject: async (o) => this.store.getBuffer(this.store.keyOf(o.url), o.sha256),
        writeObject: async (t, data) => this.store.putBuffer(this.store.keyOf(t.url), data),
        signer: identity?.signer(),
        caCertificatePem: this.trustMaterial?.caCertificatePem,
      }),
    );
  }

  driver(shouldStop?: () => boolean): FederationDriver {
    const ports: AggregatorPorts = {
      call: async <N extends InstitutionJobName>(
        institution: string,
        name: N,
        data: JobData<N>,
        o: { jobId: string },
      ): Promise<CallOutcome<JobResult<N>>> => {
        this.calls.push({ institution, name, jobId: o.jobId });
        // Like BullMQ with fixed job ids: a job that already ran answers with its recorded outcome.
        const done = this.results.get(o.jobId);
        if (done) return done as CallOutcome<JobResult<N>>;
        const outcome = (this.intercept?.(institution, name, data) ??
          (await this.dispatch(institution, name, data))) as CallOutcome<JobResult<N>>;
        this.results.set(o.jobId, outcome);
        return outcome;
      },
      putBuffer: (k, d) => this.store.putBuffer(k, d),
      getBuffer: (k, h) => this.store.getBuffer(k, h),
      listObjects: (prefix) => this.store.list(prefix),
      removeObject: (k) => this.store.remove(k),
      presignedGetUrl: async (k) => this.store.url(k),
      presignedPutUrl: async (k) => this.store.url(k),
      trust: this.trustMaterial && (async () => this.trustMaterial!),
      state: this.state,
      online: async (institution) => !this.offline.has(institution),
      shouldStop,
    };
    return new FederationDriver(
      {
        federationId: this.opts.federationId ?? 'fed-test',
        options: this.opts.options,
        participants: this.opts.references.map((r) => ({
          institution: r.institution,
          datasets: [{ kind: 'site', datasetId: r.institution, path: r.path }],
        })),
      },
      ports,
    );
  }

  private async dispatch(
    institution: string,
    name: InstitutionJobName,
    data: unknown,
  ): Promise<CallOutcome<unknown>> {
    const rt = this.runtimes.get(institution)!;
    try {
      const handlers: Record<InstitutionJobName, (d: never) => Promise<unknown>> = {
        describe: (d) => rt.describe(d),
        'secagg-advertise': (d) => rt.advertise(d),
        'secagg-share': (d) => rt.shareKeys(d),
        'secagg-receive': (d) => rt.receiveShares(d),
        'gene-scores': (d) => rt.geneScores(d),
        train: (d) => rt.train(d),
        unmask: (d) => rt.unmask(d),
        landmarks: (d) => rt.landmarks(d),
      };
      return { ok: true, result: await handlers[name](data as never) };
    } catch (e) {
      return {
        ok: false,
        reason: (e as Error).message,
        timedOut: false,
        stateLost: e instanceof StateLostError,
      };
    }
  }

  /** The final model's weights. */
  async finalWeights(): Promise<Float32Array> {
    const s = this.state.state!;
    const b = await this.store.getBuffer(s.model!.key, s.model!.sha256);
    return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  }
}
