import type {
  DriverState,
  FederationStatePort,
  LandmarkRecord,
  ModelVersionRecord,
  RoundRecord,
  StoredModelVersion,
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
    // The parent is the newest version still stored before this round (retention deletes most
    // rounds; deleting one re-links its children to its own parent).
    const parent = await this.prisma.modelVersion.findFirst({
      where: { federationId: this.federationId, round: { lt: v.round } },
      orderBy: { round: 'desc' },
    });
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

  async modelVersions(): Promise<StoredModelVersion[]> {
    return this.prisma.modelVersion.findMany({
      where: { federationId: this.federationId },
      select: { round: true, pinned: true, objectKey: true },
      orderBy: { round: 'asc' },
    });
  }

  async deleteModelVersion(round: number): Promise<boolean> {
    const where = { federationId: this.federationId, round };
    try {
      return await this.prisma.$transaction(async (tx) => {
        const version = await tx.modelVersion.findUnique({ where: { federationId_round: where } });
        if (!version) return false;
        // Its children now descend from its parent, so the lineage skips what retention deleted.
        await tx.modelVersion.updateMany({
          where: { parentId: version.id },
          data: { parentId: version.parentId },
        });
        // Unpinned at the moment of the delete: a pin committed first makes this delete nothing.
        const { count } = await tx.modelVersion.deleteMany({ where: { ...where, pinned: false } });
        if (count === 0) throw new KeptVersion();
        return true;
      });
    } catch (e) {
      if (e instanceof KeptVersion) return false;
      // An annotation job refers to it (only versions with landmarks can be used, so this is a
      // safety net): it stays.
      if ((e as { code?: string } | null)?.code === 'P2003') return false;
      throw e;
    }
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
          where: {
            modelVersionId_member_institution: {
              modelVersionId: version.id,
              member: s.member,
              institution: s.institution,
            },
          },
          create: {
            federationId: this.federationId,
            modelVersionId: version.id,
            member: s.member,
            institution: s.institution,
            ...data,
          },
          update: data,
        });
      }),
    );
  }
}

/** Rolls back the re-linking of a version that turned out pinned. */
class KeptVersion extends Error {}
