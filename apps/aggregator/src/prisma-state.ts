import type {
  DriverState,
  FederationStatePort,
  LandmarkRecord,
  ModelVersionRecord,
  RoundRecord,
} from '@fl/platform';
import type { Prisma, PrismaClient } from '@fl/persistence';

/**
 * A federation's driver state in Postgres: Federation.state holds the resumable state, Round,
 * ModelVersion and LandmarkSet rows the history. Every write is an upsert keyed by
 * (federation, round), so a step repeated after a restart changes nothing.
 */
export class PrismaFederationState implements FederationStatePort {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly federationId: string,
  ) {}

  async load(): Promise<DriverState | null> {
    const row = await this.prisma.federation.findUniqueOrThrow({ where: { id: this.federationId } });
    const state = row.state as unknown as Partial<DriverState>;
    return state && state.phase ? (state as DriverState) : null;
  }

  async save(state: DriverState): Promise<void> {
    await this.prisma.federation.update({
      where: { id: this.federationId },
      data: {
        state: state as unknown as Prisma.InputJsonValue,
        currentRound: state.round,
        keyEpoch: state.secagg?.epoch ?? 0,
        ...(state.genes
          ? { genesKey: state.genes.key, genesSha256: state.genes.sha256, geneCount: state.genes.count }
          : {}),
      },
    });
  }

  async recordRound(r: RoundRecord): Promise<void> {
    const data = {
      status: r.status,
      participants: r.participants,
      survivors: r.survivors,
      dropouts: r.dropouts,
      losses: r.losses as Prisma.InputJsonValue,
      timings: r.timings as Prisma.InputJsonValue,
      bytesIn: BigInt(r.bytesIn),
      bytesOut: BigInt(r.bytesOut),
      startedAt: r.startedAt,
      finishedAt: new Date(),
      error: r.error ?? null,
    };
    await this.prisma.round.upsert({
      where: { federationId_number: { federationId: this.federationId, number: r.round } },
      create: { federationId: this.federationId, number: r.round, ...data },
      update: data,
    });
  }

  async recordModelVersion(v: ModelVersionRecord): Promise<void> {
    const parent =
      v.round > 0
        ? await this.prisma.modelVersion.findUnique({
            where: { federationId_round: { federationId: this.federationId, round: v.round - 1 } },
          })
        : null;
    const data = {
      objectKey: v.weights.key,
      sha256: v.weights.sha256,
      sizeBytes: BigInt(v.weights.bytes),
      backend: v.backend,
      manifest: v.manifest as unknown as Prisma.InputJsonValue,
      parentId: parent?.id ?? null,
    };
    await this.prisma.modelVersion.upsert({
      where: { federationId_round: { federationId: this.federationId, round: v.round } },
      create: { federationId: this.federationId, round: v.round, source: 'federation', ...data },
      update: data,
    });
  }

  async recordLandmarks(round: number, sets: LandmarkRecord[]): Promise<void> {
    const version = await this.prisma.modelVersion.findUniqueOrThrow({
      where: { federationId_round: { federationId: this.federationId, round } },
    });
    await this.prisma.$transaction(
      sets.map((s) => {
        const data = {
          objectKey: s.object.key,
          sha256: s.object.sha256,
          types: s.types,
          cellCounts: s.cellCounts,
        };
        return this.prisma.landmarkSet.upsert({
          where: { modelVersionId_institution: { modelVersionId: version.id, institution: s.institution } },
          create: {
            federationId: this.federationId,
            modelVersionId: version.id,
            institution: s.institution,
            ...data,
          },
          update: data,
        });
      }),
    );
  }
}
