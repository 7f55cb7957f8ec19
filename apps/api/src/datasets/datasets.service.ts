import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { posix, win32 } from 'node:path';
import {
  BadRequestException,
  ConflictException,
  HttpException,
  Inject,
  Injectable,
  NotFoundException,
  PayloadTooLargeException,
} from '@nestjs/common';
import { z } from 'zod';
import { checkReferenceTypeCounts } from '@fl/federation';
import { datasetName, InputError, InputLimitError, LABEL_COLUMN } from '@fl/formats';
import type { Dataset as DatasetRow, Institution, Prisma } from '@fl/persistence';
import { objectKeys } from '@fl/platform';
import type { ObjectStore } from '@fl/storage';
import { canReachInstitution, consortiumPrincipal } from '../auth/access';
import { AuditService } from '../auth/audit.service';
import type { Principal } from '../auth/principal';
import type { ReceivedUpload } from '../common/multipart-upload';
import { inputProblem } from '../common/input-problem';
import { isUniqueViolation, isUuid, parseInput } from '../common/validation';
import { OBJECT_STORE, PRISMA, type Db } from '../infra/tokens';
import { UploadValidator, ValidationLimitError } from '../validation/upload-validator';
import type { Dataset } from './models/dataset.model';

const datasetNameSchema = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(200, 'must be at most 200 characters')
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  .regex(/^[^\u0000-\u001f\u007f/\\]+$/, 'must not contain slashes or control characters');

const siteDatasetSchema = z
  .object({
    name: datasetNameSchema,
    path: z
      .string()
      .min(1)
      .max(4096)
      .refine((p) => posix.isAbsolute(p) || win32.isAbsolute(p), 'must be an absolute path on the site'),
    cells: z.number().int().positive(),
    genes: z.number().int().positive(),
    typeCounts: z
      .record(z.string().min(1), z.number().int().nonnegative())
      .refine((c) => Object.keys(c).length > 0, 'must name at least one cell type'),
    sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'must be the file’s sha256 as 64 hexadecimal digits')
      .transform((s) => s.toLowerCase()),
    sizeBytes: z.number().int().nonnegative().optional(),
  })
  .strict()
  .refine((d) => Object.values(d.typeCounts).reduce((a, b) => a + b, 0) === d.cells, {
    message: 'the cell-type counts must add up to cells',
    path: ['typeCounts'],
  });

/** Form field of an upload: `true` accepts single-cell types (the federation must allow them too). */
const allowSingletonTypesSchema = z
  .enum(['true', 'false'], { message: 'must be true or false' })
  .transform((v) => v === 'true');

export type SiteDatasetInput = z.input<typeof siteDatasetSchema>;

export function toDataset(row: DatasetRow): Dataset {
  return {
    id: row.id,
    institutionId: row.institutionId,
    name: row.name,
    fileName: row.fileName,
    location: row.location,
    localPath: row.localPath,
    sha256: row.sha256,
    sizeBytes: Number(row.sizeBytes),
    cells: row.cells,
    genes: row.genes,
    typeCounts: row.typeCounts as Record<string, number>,
    createdAt: row.createdAt,
  };
}

/**
 * Reference datasets: uploads are parsed and validated before anything is stored; the platform
 * keeps the file under the institution's own prefix and a summary row (never the matrix).
 */
@Injectable()
export class DatasetsService {
  constructor(
    @Inject(PRISMA) private readonly db: Db,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    private readonly audit: AuditService,
    private readonly validator: UploadValidator,
  ) {}

  /** The institution a REST path names, if the caller may add data to it (its member, an admin). */
  async uploadTarget(principal: Principal, institutionName: string): Promise<Institution> {
    const p = consortiumPrincipal(principal, 'add datasets');
    const row = await this.db.institution.findUnique({
      where: { consortiumId_name: { consortiumId: p.consortiumId, name: institutionName } },
    });
    if (!row || !canReachInstitution(p, row))
      throw new NotFoundException(`Institution "${institutionName}" not found.`);
    if (row.status === 'revoked') {
      throw new ConflictException(`Institution "${institutionName}" is revoked; it cannot add datasets.`);
    }
    return row;
  }

  /**
   * Validates an uploaded reference and stores it; a bad file leaves nothing behind. `signal`
   * (the client went away) stops the validation thread.
   */
  async storeUpload(
    principal: Principal,
    institution: Institution,
    upload: ReceivedUpload,
    signal?: AbortSignal,
  ): Promise<Dataset> {
    const { file } = upload;
    const name = parseInput(
      datasetNameSchema,
      upload.fields.name ?? datasetName(file.fileName),
      'dataset name',
    );
    await this.assertNameFree(institution, name);
    const allowSingletonTypes = parseInput(
      allowSingletonTypesSchema,
      upload.fields.allowSingletonTypes ?? 'false',
      'allowSingletonTypes',
    );
    let summary: { cells: number; genes: number; typeCounts: Record<string, number> };
    try {
      // The same checks as reading the file for training, holding counts rather than the
      // matrix (memory bounded by genes and cell types), within the read limits, in a worker
      // thread so that a costly file does not hold up the api (UploadValidator).
      const read = await this.validator.summarize(file.path, 'reference', signal);
      if (!read.typeCounts) {
        throw new InputError(
          `${file.path}: a reference needs a "${LABEL_COLUMN}" column with each cell's type`,
        );
      }
      // The rules training applies, so that a reference accepted here cannot fail a round later.
      checkReferenceTypeCounts(file.path, read.typeCounts, {
        allowSingletonTypes,
        howToAllow:
          'send the form field allowSingletonTypes=true (and start the federation with allowSingletonTypes)',
      });
      summary = { cells: read.cells, genes: read.genes, typeCounts: read.typeCounts };
    } catch (e) {
      if (e instanceof HttpException) throw e; // busy (503), cancelled
      const message = inputProblem(e, file.dir, file.fileName);
      if (e instanceof InputLimitError || e instanceof ValidationLimitError)
        throw new PayloadTooLargeException(message);
      throw new BadRequestException(message);
    }
    const id = randomUUID();
    const key = objectKeys.dataset(institution.name, id, file.fileName);
    const stored = await this.store.putStream(key, createReadStream(file.path), {
      contentType: 'application/octet-stream',
    });
    try {
      if (stored.sha256 !== file.sha256) {
        throw new Error(`${file.fileName} changed while it was being stored (sha256 mismatch)`);
      }
      return await this.createRow(principal, institution, {
        id,
        name,
        fileName: file.fileName,
        location: 'upload',
        objectKey: key,
        sha256: file.sha256,
        sizeBytes: BigInt(file.bytes),
        ...summary,
      });
    } catch (e) {
      await this.store.remove(key).catch(() => undefined);
      throw e;
    }
  }

  /** Records a dataset that stays on the site: only its summary reaches the platform. */
  async registerSite(principal: Principal, institution: Institution, body: unknown): Promise<Dataset> {
    const input = parseInput(siteDatasetSchema, body, 'site dataset');
    await this.assertNameFree(institution, input.name);
    const fileName = input.path.split(/[\\/]/).pop() || input.path;
    return this.createRow(principal, institution, {
      id: randomUUID(),
      name: input.name,
      fileName,
      location: 'site',
      localPath: input.path,
      sha256: input.sha256,
      sizeBytes: BigInt(input.sizeBytes ?? 0),
      cells: input.cells,
      genes: input.genes,
      typeCounts: input.typeCounts,
    });
  }

  /** Datasets the caller may see: a member its institution's, an admin the consortium's. */
  async list(
    principal: Principal,
    filter: { institutionId?: string; institutionName?: string } = {},
  ): Promise<Dataset[]> {
    const p = consortiumPrincipal(principal, 'list datasets');
    const conditions: Prisma.DatasetWhereInput[] = [
      p.kind === 'member'
        ? { institutionId: p.institutionId }
        : { institution: { consortiumId: p.consortiumId } },
    ];
    if (filter.institutionId !== undefined) {
      if (!isUuid(filter.institutionId)) return [];
      conditions.push({ institutionId: filter.institutionId });
    }
    if (filter.institutionName !== undefined)
      conditions.push({ institution: { name: filter.institutionName } });
    const where: Prisma.DatasetWhereInput = { AND: conditions };
    const rows = await this.db.dataset.findMany({ where, orderBy: [{ createdAt: 'asc' }, { name: 'asc' }] });
    return rows.map(toDataset);
  }

  async get(principal: Principal, id: string): Promise<Dataset> {
    const p = consortiumPrincipal(principal, 'read datasets');
    const row = isUuid(id)
      ? await this.db.dataset.findUnique({ where: { id }, include: { institution: true } })
      : null;
    if (!row || !canReachInstitution(p, row.institution))
      throw new NotFoundException(`Dataset ${id} not found.`);
    return toDataset(row);
  }

  private async assertNameFree(institution: Institution, name: string): Promise<void> {
    const existing = await this.db.dataset.findUnique({
      where: { institutionId_name: { institutionId: institution.id, name } },
      select: { id: true },
    });
    if (existing) {
      throw new ConflictException(
        `${institution.name} already has a dataset named "${name}"; choose another name (form field "name").`,
      );
    }
  }

  private async createRow(
    principal: Principal,
    institution: Institution,
    data: Omit<Prisma.DatasetUncheckedCreateInput, 'institutionId' | 'typeCounts'> & {
      id: string;
      name: string;
      typeCounts: Record<string, number>;
    },
  ): Promise<Dataset> {
    try {
      const row = await this.db.$transaction(async (tx) => {
        const created = await tx.dataset.create({ data: { ...data, institutionId: institution.id } });
        await this.audit.record(
          principal,
          {
            action: data.location === 'site' ? 'dataset.register-site' : 'dataset.upload',
            target: `dataset:${created.id}`,
            consortiumId: institution.consortiumId,
            detail: {
              institution: institution.name,
              name: data.name,
              cells: data.cells,
              sha256: data.sha256,
            },
          },
          tx,
        );
        return created;
      });
      return toDataset(row);
    } catch (e) {
      if (isUniqueViolation(e))
        throw new ConflictException(`${institution.name} already has a dataset named "${data.name}".`);
      throw e;
    }
  }
}
