import type { Redis } from 'ioredis';
import {
  federationEventsChannel,
  FederationDriver,
  FederationFailed,
  type AggregatorPorts,
  type CallOutcome,
  type DatasetSource,
  type FederationOptions,
  type FederationPlan,
  type InstitutionJobName,
  type JobResult,
} from '@fl/platform';
import type { PrismaClient } from '@fl/persistence';
import type { InstitutionQueues } from '@fl/queue';
import { MAX_PRESIGN_TTL_SECONDS, type ObjectStore } from '@fl/storage';
import type { RevocationList } from '@fl/secure-agg';
import { PrismaFederationState } from './prisma-state';

export interface RunnerDeps {
  prisma: PrismaClient;
  queues: InstitutionQueues;
  store: ObjectStore;
  /** Publishes FederationEvents (Redis pub/sub; the API relays them to GraphQL subscribers). */
  publisher: Redis;
  presignTtlSeconds: number;
  /** Whether an institution's worker is connected now. */
  online(institution: string): Promise<boolean>;
  log(message: string): void;
}

/** Participants as the API stores them: institutions in federation order with their datasets. */
interface StoredParticipant {
  institution: string;
  datasetIds: string[];
}

/**
 * Runs one federation from its Postgres row to completion (or resumes it): builds the plan, wires
 * the driver to BullMQ, MinIO and Postgres, and records the outcome. Cancelling is a status
 * change in Postgres, checked by the driver between steps.
 */
export class FederationRunner {
  /** Set on shutdown: running federations stop between steps and stay 'running' for the next start. */
  private stopping = false;

  constructor(private readonly deps: RunnerDeps) {}

  /** Stops every run at its next step boundary without marking anything failed. */
  stop(): void {
    this.stopping = true;
  }

  async run(federationId: string): Promise<void> {
    const { prisma, log } = this.deps;
    const fed = await prisma.federation.findUnique({ where: { id: federationId } });
    if (!fed) return log(`federation ${federationId} does not exist; ignoring`);
    if (fed.status === 'completed' || fed.status === 'cancelled') return;
    await prisma.federation.update({
      where: { id: federationId },
      data: { status: 'running', error: null, startedAt: fed.startedAt ?? new Date() },
    });
    this.publish(
      federationId,
      'status',
      'running',
      fed.currentRound,
      (fed.options as { rounds?: number }).rounds ?? 0,
    );
    try {
      const plan = await this.plan(federationId);
      const driver = new FederationDriver(plan, this.ports(plan, fed.consortiumId));
      const end = await driver.run();
      if (end.phase === 'done') {
        await prisma.federation.update({
          where: { id: federationId },
          data: { status: 'completed', finishedAt: new Date() },
        });
        await this.audit(fed.consortiumId, 'federation.completed', federationId, { rounds: end.round });
        log(`federation ${federationId} completed after ${end.round} rounds`);
      }
    } catch (e) {
      const message = (e as Error).message;
      if (this.stopping) {
        // Shutting down (e.g. a rolling update): the federation stays 'running' and the next
        // aggregator resumes it from its saved state.
        log(`federation ${federationId} paused by shutdown (${message}); it resumes at the next start`);
        return;
      }
      await prisma.federation.update({
        where: { id: federationId },
        data: { status: 'failed', error: message, finishedAt: new Date() },
      });
      await this.audit(fed.consortiumId, 'federation.failed', federationId, { error: message });
      this.publish(federationId, 'status', 'failed', fed.currentRound, plan0(fed.options));
      log(
        `federation ${federationId} failed: ${message}${e instanceof FederationFailed ? '' : `\n${(e as Error).stack}`}`,
      );
    }
  }

  private async plan(federationId: string): Promise<FederationPlan> {
    const { prisma, store } = this.deps;
    const fed = await prisma.federation.findUniqueOrThrow({ where: { id: federationId } });
    const participants = fed.participants as unknown as StoredParticipant[];
    const resolved = [];
    for (const p of participants) {
      const institution = await prisma.institution.findUniqueOrThrow({
        where: { consortiumId_name: { consortiumId: fed.consortiumId, name: p.institution } },
      });
      const datasets = await prisma.dataset.findMany({
        where: { id: { in: p.datasetIds }, institutionId: institution.id },
        orderBy: { createdAt: 'asc' },
      });
      if (datasets.length !== p.datasetIds.length) {
        throw new FederationFailed(`${p.institution}: a dataset of this federation no longer exists`);
      }
      const sources: DatasetSource[] = [];
      for (const d of p.datasetIds.map((id) => datasets.find((x) => x.id === id)!)) {
        if (d.location === 'site') sources.push({ kind: 'site', datasetId: d.id, path: d.localPath! });
        else {
          sources.push({
            kind: 'object',
            datasetId: d.id,
            fileName: d.fileName,
            object: {
              key: d.objectKey!,
              sha256: d.sha256,
              // Datasets are read again by a worker that restarts late in a long federation:
              // their URLs last as long as S3 allows (the per-round objects use the short TTL).
              url: await store.presignedGetUrl(d.objectKey!, MAX_PRESIGN_TTL_SECONDS),
            },
          });
        }
      }
      resolved.push({ institution: p.institution, datasets: sources });
    }
    // The seed has its own column; everything else is in the options document.
    const options = { ...(fed.options as unknown as FederationOptions), seed: fed.seed };
    return { federationId, options, participants: resolved };
  }

  private ports(plan: FederationPlan, consortiumId: string): AggregatorPorts {
    const { prisma, queues, store, presignTtlSeconds } = this.deps;
    return {
      call: async <N extends InstitutionJobName>(
        institution: string,
        name: N,
        data: Parameters<AggregatorPorts['call']>[2],
        opts: { jobId: string; deadlineMs: number },
      ): Promise<CallOutcome<JobResult<N>>> => {
        await queues.enqueue(institution, name, data as never, { jobId: opts.jobId });
        const outcome = await queues.waitForResult<N>(institution, opts.jobId, {
          deadlineMs: Date.now() + opts.deadlineMs,
        });
        if (outcome.status === 'completed') return { ok: true, result: outcome.result };
        this.deps.log(
          `${plan.federationId}: ${name} at ${institution} (${opts.jobId}): ` +
            (outcome.status === 'timeout' ? 'no answer before the deadline' : `failed: ${outcome.reason}`),
        );
        if (outcome.status === 'timeout') {
          // Nobody took it in time: it must not run later against a round that has moved on.
          await queues.remove(institution, opts.jobId).catch(() => false);
          return {
            ok: false,
            reason: `no answer within ${opts.deadlineMs / 1000} s`,
            timedOut: true,
            stateLost: false,
          };
        }
        return {
          ok: false,
          reason: outcome.reason,
          timedOut: false,
          stateLost: outcome.reason.startsWith('state-lost'),
        };
      },
      putBuffer: (key, data) => store.putBuffer(key, data),
      getBuffer: (key, sha256) => store.getBuffer(key, sha256),
      listObjects: (prefix) => store.list(prefix),
      removeObject: (key) => store.remove(key),
      presignedGetUrl: (key) => store.presignedGetUrl(key, presignTtlSeconds),
      presignedPutUrl: (key) => store.presignedPutUrl(key, presignTtlSeconds),
      trust: async () => {
        const consortium = await prisma.consortium.findUniqueOrThrow({ where: { id: consortiumId } });
        const institutions = await prisma.institution.findMany({
          where: { consortiumId, name: { in: plan.participants.map((p) => p.institution) } },
        });
        const certificates: Record<string, string> = {};
        for (const i of institutions) {
          if (i.status === 'certified' && i.certificatePem) certificates[i.name] = i.certificatePem;
        }
        // The sealed authority document carries the root's current signed revocation list (public).
        const exported = JSON.parse(Buffer.from(consortium.caKeySealed).toString('utf8')) as {
          revocationList: RevocationList;
        };
        return {
          caCertificatePem: consortium.caCertificatePem,
          certificates,
          revocationList: exported.revocationList,
        };
      },
      online: (institution) => this.deps.online(institution),
      state: new PrismaFederationState(prisma, plan.federationId),
      shouldStop: async () => {
        if (this.stopping) return true;
        const row = await prisma.federation.findUnique({
          where: { id: plan.federationId },
          select: { status: true },
        });
        return row?.status !== 'running';
      },
      onEvent: (event) => {
        void this.deps.publisher.publish(federationEventsChannel(event.federationId), JSON.stringify(event));
      },
    };
  }

  private publish(
    federationId: string,
    kind: 'status' | 'round',
    status: string,
    round: number,
    rounds: number,
  ) {
    void this.deps.publisher.publish(
      federationEventsChannel(federationId),
      JSON.stringify({ federationId, kind, status, round, rounds, at: new Date().toISOString() }),
    );
  }

  private async audit(
    consortiumId: string,
    action: string,
    federationId: string,
    detail: object,
  ): Promise<void> {
    await this.deps.prisma.auditLog.create({
      data: { consortiumId, actor: 'aggregator', action, target: `federation:${federationId}`, detail },
    });
  }
}

function plan0(options: unknown): number {
  return (options as { rounds?: number }).rounds ?? 0;
}
