import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  BadRequestException,
  ConflictException,
  HttpException,
  Inject,
  Injectable,
  NotFoundException,
  PayloadTooLargeException,
} from '@nestjs/common';
import { saveBundle } from '@fl/federation';
import type { LandmarkSet as LandmarkSetRow, Prisma } from '@fl/persistence';
import {
  modelCount,
  retentionPolicy,
  versionKind,
  type ModelVersionManifest,
  type RetentionPolicy,
} from '@fl/platform';
import type { ObjectStore } from '@fl/storage';
import pkg from '../../../../package.json';
import { actorOf, type Principal } from '../auth/principal';
import { assertConsortiumAdmin, consortiumPrincipal } from '../auth/access';
import { AuditService } from '../auth/audit.service';
import { inputProblem } from '../common/input-problem';
import type { ReceivedUpload } from '../common/multipart-upload';
import { isUuid } from '../common/validation';
import { FederationsService } from '../federations/federations.service';
import { visibleLandmarkSets } from '../federations/round-visibility';
import { OBJECT_STORE, PRISMA, type Db } from '../infra/tokens';
import { UploadValidator, ValidationLimitError } from '../validation/upload-validator';
import type { PreparedBundle } from './bundle-prepare';
import { storeBundleFiles } from './bundle-store';
import { BundleTooLargeError, extractBundle, packBundle } from './bundle-tar';
import { assembleModelVersion, inInstitutionOrder } from './model-loader';
import type { LandmarkSet } from './models/landmark-set.model';
import { ModelVersionKind, type ModelVersion } from './models/model-version.model';

/**
 * ModelVersion.manifest of an imported bundle. ModelVersion has no consortium column and an
 * imported version no federation, so the owning consortium is recorded in the manifest.
 */
export interface ImportedManifest extends ModelVersionManifest {
  consortiumId: string;
  importedBy: string;
  importedFrom: string;
  bundle: { createdAt: string; tool: { name: string; version: string }; seed: number };
}

/** What toModelVersion needs besides the row: its federation's retention state, its landmark count. */
const VERSION_CONTEXT = {
  federation: { select: { consortiumId: true, options: true, currentRound: true } },
  _count: { select: { landmarkSets: true } },
} satisfies Prisma.ModelVersionInclude;

type VersionRow = Prisma.ModelVersionGetPayload<{ include: typeof VERSION_CONTEXT }>;

function policyOf(options: unknown): RetentionPolicy | null {
  try {
    return retentionPolicy(options as { rounds: number; checkpointEvery?: number });
  } catch {
    return null; // options without usable rounds (hand-made rows): no checkpoints to name
  }
}

function kindOf(row: VersionRow): ModelVersionKind {
  if (!row.federation) return ModelVersionKind.imported;
  const { options, currentRound } = row.federation;
  const policy = policyOf(options);
  if (policy) return ModelVersionKind[versionKind(row.round, policy, currentRound)];
  return row.round === currentRound ? ModelVersionKind.latest : ModelVersionKind.intermediate;
}

/** Why a version without landmark sets cannot be exported (409), in words a user can act on. */
function notExportable(row: VersionRow): string {
  if (kindOf(row) === ModelVersionKind.final) {
    return (
      `Model version ${row.id} is its federation's final model, but its landmarks are not computed ` +
      'yet and a bundle needs them; download it once the federation has completed.'
    );
  }
  return (
    `Model version ${row.id} (round ${row.round}) cannot be exported: it is a training ` +
    `${kindOf(row) === ModelVersionKind.checkpoint ? 'checkpoint' : 'round'} without landmark sets, ` +
    "and a bundle needs them. Only a federation's final model gets landmarks; download that one."
  );
}

export function toModelVersion(row: VersionRow): ModelVersion {
  return {
    id: row.id,
    federationId: row.federationId,
    round: row.round,
    parentId: row.parentId,
    sha256: row.sha256,
    sizeBytes: Number(row.sizeBytes),
    backend: row.backend,
    manifest: row.manifest,
    models: modelCount(row.manifest as unknown as ModelVersionManifest),
    source: row.source,
    createdAt: row.createdAt,
    kind: kindOf(row),
    pinned: row.pinned,
    exportable: row._count.landmarkSets > 0,
  };
}

export function toLandmarkSet(row: LandmarkSetRow): LandmarkSet {
  return {
    id: row.id,
    federationId: row.federationId,
    modelVersionId: row.modelVersionId,
    institution: row.institution,
    member: row.member,
    sha256: row.sha256,
    types: row.types,
    cellCounts: row.cellCounts,
    createdAt: row.createdAt,
  };
}

/** What an imported bundle may cost (BUNDLE_MAX_BYTES, UPLOAD_MAX_GENES). */
export interface ImportLimits {
  maxBytes: number;
  maxGenes: number;
}

@Injectable()
export class ModelVersionsService {
  constructor(
    @Inject(PRISMA) private readonly db: Db,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    private readonly federations: FederationsService,
    private readonly audit: AuditService,
    private readonly validator: UploadValidator,
  ) {}

  /** Model versions of the caller's consortium: its federations' and the ones it imported. */
  visibleWhere(principal: Principal): Prisma.ModelVersionWhereInput {
    const p = consortiumPrincipal(principal, 'read model versions');
    return {
      OR: [
        { federation: { consortiumId: p.consortiumId } },
        { federationId: null, manifest: { path: ['consortiumId'], equals: p.consortiumId } },
      ],
    };
  }

  async list(
    principal: Principal,
    filter: { federationId?: string | null },
    page: { limit: number; offset: number },
  ): Promise<ModelVersion[]> {
    const where: Prisma.ModelVersionWhereInput[] = [this.visibleWhere(principal)];
    if (filter.federationId) {
      await this.federations.getRow(principal, filter.federationId);
      where.push({ federationId: filter.federationId });
    }
    const rows = await this.db.modelVersion.findMany({
      where: { AND: where },
      include: VERSION_CONTEXT,
      orderBy: [{ createdAt: 'desc' }, { round: 'desc' }],
      take: page.limit,
      skip: page.offset,
    });
    return rows.map(toModelVersion);
  }

  async getRow(principal: Principal, id: string): Promise<VersionRow & { landmarkSets: LandmarkSetRow[] }> {
    const row = isUuid(id)
      ? await this.db.modelVersion.findFirst({
          where: { AND: [{ id }, this.visibleWhere(principal)] },
          include: { ...VERSION_CONTEXT, landmarkSets: true },
        })
      : null;
    if (!row) throw new NotFoundException(`Model version ${id} not found.`);
    return row;
  }

  async get(principal: Principal, id: string): Promise<ModelVersion> {
    return toModelVersion(await this.getRow(principal, id));
  }

  /** A model version's landmark sets, in the federation's institution order. */
  /**
   * A model version's landmark sets, in the federation's institution order. A member sees a
   * federation's sets as it sees its rounds (its own institution's, see round-visibility.ts); an
   * imported bundle's sets are named after the command line's sites, not the consortium's
   * institutions, and were shared whole by whoever imported it, so they are all shown.
   */
  async landmarkSets(principal: Principal, modelVersionId: string): Promise<LandmarkSet[]> {
    const row = await this.getRow(principal, modelVersionId);
    const ordered = inInstitutionOrder(row.manifest as unknown as ModelVersionManifest, row.landmarkSets);
    const visible = row.federationId
      ? visibleLandmarkSets(ordered, await this.federations.institutionValuesViewer(principal))
      : ordered;
    return visible.map(toLandmarkSet);
  }

  async landmarkSetsOfFederation(principal: Principal, federationId: string): Promise<LandmarkSet[]> {
    await this.federations.getRow(principal, federationId);
    const rows = await this.db.landmarkSet.findMany({
      where: { federationId },
      orderBy: { createdAt: 'asc' },
    });
    const viewer = await this.federations.institutionValuesViewer(principal);
    return visibleLandmarkSets(rows, viewer).map(toLandmarkSet);
  }

  async ofFederation(principal: Principal, federationId: string): Promise<ModelVersion[]> {
    await this.federations.getRow(principal, federationId);
    const rows = await this.db.modelVersion.findMany({
      where: { federationId },
      include: VERSION_CONTEXT,
      orderBy: { round: 'asc' },
    });
    return rows.map(toModelVersion);
  }

  /**
   * Consortium admin: pins (or unpins) a version. Retention never deletes a pinned one; an
   * unpinned one that is neither the final model, a checkpoint nor the latest round is deleted
   * when the federation's next round completes (a finished federation's stays).
   */
  async pin(principal: Principal, id: string, pinned: boolean): Promise<ModelVersion> {
    const row = await this.getRow(principal, id);
    const consortiumId =
      row.federation?.consortiumId ?? (row.manifest as unknown as ImportedManifest).consortiumId;
    assertConsortiumAdmin(principal, consortiumId, `Model version ${id} not found.`, 'pin model versions');
    // The aggregator deletes a version only while it is unpinned, in one statement: either this
    // update lands first and the version stays, or the version is gone and nothing is updated.
    const updated = await this.db.$transaction(async (tx) => {
      const { count } = await tx.modelVersion.updateMany({ where: { id }, data: { pinned } });
      if (count === 0) return null;
      await this.audit.record(
        principal,
        {
          action: pinned ? 'model.pin' : 'model.unpin',
          target: `model-version:${id}`,
          consortiumId,
          detail: { federationId: row.federationId, round: row.round },
        },
        tx,
      );
      return tx.modelVersion.findUniqueOrThrow({ where: { id }, include: VERSION_CONTEXT });
    });
    if (!updated) {
      throw new NotFoundException(
        `Model version ${id} no longer exists: retention deleted it when a newer round completed.`,
      );
    }
    return toModelVersion(updated);
  }

  /**
   * The command line's model bundle of a version, as a tar stream: rebuilt from storage (every
   * hash checked) and written by the same saveBundle, so `scprivacy annotate --model` reads it.
   */
  async exportBundle(principal: Principal, id: string): Promise<{ fileName: string; stream: Readable }> {
    const row = await this.getRow(principal, id);
    if (row.landmarkSets.length === 0) throw new ConflictException(notExportable(row));
    let model;
    try {
      model = await assembleModelVersion(this.store, row, row.landmarkSets);
    } catch (e) {
      throw new BadRequestException(`Model version ${id} cannot be exported: ${(e as Error).message}.`);
    }
    const manifest = row.manifest as unknown as ModelVersionManifest;
    const folder = `model-${id}`;
    const tmp = await mkdtemp(join(tmpdir(), 'scprivacy-bundle-'));
    try {
      const dir = join(tmp, folder);
      await saveBundle(dir, model, {
        options: manifest.options,
        backend: row.backend,
        institutions: manifest.institutions,
        toolVersion: pkg.version,
      });
      return { fileName: `${folder}.tar`, stream: await packBundle(dir, folder) };
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /**
   * Imports a bundle tar made by `scprivacy run --model-dir` as a new model version. The archive
   * is extracted within `limits` (streaming, on this thread); its files are checked and parsed in
   * a validation thread (UploadValidator), which leaves the objects to store on disk, so the
   * event loop never parses a landmarks.json nor holds a weights.bin. `signal`: the client left.
   */
  async importBundle(
    principal: Principal,
    upload: ReceivedUpload,
    limits: ImportLimits,
    signal?: AbortSignal,
  ): Promise<ModelVersion> {
    const p = consortiumPrincipal(principal, 'import models');
    const { file } = upload;
    const bundleDir = join(file.dir, 'bundle');
    const objectsDir = join(file.dir, 'objects');
    try {
      let prepared: PreparedBundle;
      try {
        await extractBundle(file.path, file.fileName, bundleDir, { maxBytes: limits.maxBytes });
        prepared = await this.validator.checkBundle(
          { dir: bundleDir, archiveName: file.fileName, maxGenes: limits.maxGenes, outDir: objectsDir },
          signal,
        );
      } catch (e) {
        // Busy (503), cancelled or crashed threads keep their own answer.
        if (e instanceof HttpException) throw e;
        const message = inputProblem(e, bundleDir, file.fileName);
        if (e instanceof BundleTooLargeError || e instanceof ValidationLimitError)
          throw new PayloadTooLargeException(message);
        throw new BadRequestException(message);
      }
      return await this.storeImported(p, file, prepared);
    } finally {
      // The upload's folder is removed by the caller; the extracted copy can go now.
      await rm(bundleDir, { recursive: true, force: true });
      await rm(objectsDir, { recursive: true, force: true });
    }
  }

  private async storeImported(
    p: ReturnType<typeof consortiumPrincipal>,
    file: ReceivedUpload['file'],
    prepared: PreparedBundle,
  ): Promise<ModelVersion> {
    const { manifest } = prepared;
    const id = randomUUID();
    const prefix = `models/${id}`;
    try {
      const stored = await storeBundleFiles(this.store, prefix, prepared);
      const versionManifest: ImportedManifest = {
        ...stored.manifest,
        consortiumId: p.consortiumId,
        importedBy: actorOf(p),
        importedFrom: file.fileName,
        bundle: { createdAt: manifest.createdAt, tool: manifest.tool, seed: manifest.seed },
      };
      const row = await this.db.$transaction(async (tx) => {
        const version = await tx.modelVersion.create({
          data: {
            id,
            round: manifest.options.rounds,
            objectKey: stored.weights.key,
            sha256: stored.weights.sha256,
            sizeBytes: BigInt(stored.weights.bytes),
            backend: manifest.backend,
            manifest: versionManifest as unknown as Prisma.InputJsonObject,
            source: 'import',
          },
        });
        for (const l of stored.landmarks) {
          await tx.landmarkSet.create({
            data: {
              modelVersionId: id,
              member: l.member,
              institution: l.institution,
              objectKey: l.key,
              sha256: l.sha256,
              types: l.types,
              cellCounts: l.cellCounts,
            },
          });
        }
        await this.audit.record(
          p,
          {
            action: 'model.import',
            target: `model-version:${id}`,
            consortiumId: p.consortiumId,
            detail: { file: file.fileName, sha256: file.sha256 },
          },
          tx,
        );
        return version;
      });
      return toModelVersion({
        ...row,
        federation: null,
        _count: { landmarkSets: stored.landmarks.length },
      });
    } catch (e) {
      await this.store.removePrefix(`${prefix}/`).catch(() => undefined);
      throw e;
    }
  }
}
