import { createReadStream } from 'node:fs';
import { randomUUID } from 'node:crypto';
import {
  BadRequestException,
  ConflictException,
  Inject,
  Injectable,
  Logger,
  NotFoundException,
  ServiceUnavailableException,
} from '@nestjs/common';
import type { Queue } from 'bullmq';
import { DATA_EXTENSIONS, fileKind } from '@fl/formats';
import type { AnnotationJob as AnnotationJobRow, Prisma } from '@fl/persistence';
import { objectKeys, type AnnotationJobData } from '@fl/platform';
import type { ObjectStore } from '@fl/storage';
import { canReachInstitution, consortiumPrincipal } from '../auth/access';
import { AuditService } from '../auth/audit.service';
import type { Principal } from '../auth/principal';
import type { ReceivedUpload } from '../common/multipart-upload';
import { isUuid } from '../common/validation';
import { ANNOTATION_QUEUE_TOKEN, OBJECT_STORE, PRISMA, type Db } from '../infra/tokens';
import { ModelVersionsService } from '../models/model-versions.service';
import type { AnnotationJob } from './models/annotation-job.model';

export type ResultFileName = 'result.txt' | 'predictions.csv';

export function toAnnotationJob(row: AnnotationJobRow): AnnotationJob {
  return {
    id: row.id,
    institutionId: row.institutionId,
    consortiumId: row.consortiumId,
    modelVersionId: row.modelVersionId,
    status: row.status,
    inputFileName: row.inputFileName,
    inputSha256: row.inputSha256,
    resultKeys: row.resultKeys,
    summary: row.summary,
    rejectThreshold: row.rejectThreshold,
    autoReject: row.autoReject,
    error: row.error,
    createdAt: row.createdAt,
    finishedAt: row.finishedAt,
  };
}

/**
 * Annotation jobs: a member's are its institution's own; an admin sees the consortium's. The
 * query file is stored, the job queued (ANNOTATION_QUEUE); the runner does the work.
 */
@Injectable()
export class AnnotationsService {
  private readonly logger = new Logger('Annotations');

  constructor(
    @Inject(PRISMA) private readonly db: Db,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(ANNOTATION_QUEUE_TOKEN) private readonly queue: Queue<AnnotationJobData>,
    private readonly models: ModelVersionsService,
    private readonly audit: AuditService,
  ) {}

  /** Fails early (before the upload is read) for callers who cannot annotate at all. */
  assertCanSubmit(principal: Principal): void {
    consortiumPrincipal(principal, 'submit annotation jobs');
  }

  async submit(principal: Principal, upload: ReceivedUpload): Promise<{ id: string; status: 'queued' }> {
    const p = consortiumPrincipal(principal, 'submit annotation jobs');
    const { file, fields } = upload;
    const modelVersionId = fields.modelVersionId?.trim();
    if (!modelVersionId) {
      throw new BadRequestException('Name the model to annotate with in the form field "modelVersionId".');
    }
    const { rejectThreshold, autoReject } = parseThreshold(fields.rejectThreshold);
    if (!fileKind(file.fileName)) {
      throw new BadRequestException(
        `${file.fileName}: unsupported file type; expected one of ${DATA_EXTENSIONS.join(', ')}.`,
      );
    }
    const version = await this.models.getRow(p, modelVersionId);
    if (version.landmarkSets.length === 0) {
      throw new ConflictException(
        `Model version ${modelVersionId} has no landmarks yet (its federation is still training); ` +
          'annotate with a finished model.',
      );
    }
    const id = randomUUID();
    const inputKey = objectKeys.annotationInput(id, file.fileName);
    const stored = await this.store.putStream(inputKey, createReadStream(file.path));
    try {
      await this.db.$transaction(async (tx) => {
        await tx.annotationJob.create({
          data: {
            id,
            institutionId: p.kind === 'member' ? p.institutionId : null,
            consortiumId: p.consortiumId,
            modelVersionId: version.id,
            inputFileName: file.fileName,
            inputKey,
            inputSha256: stored.sha256,
            rejectThreshold,
            autoReject,
          },
        });
        await this.audit.record(
          p,
          {
            action: 'annotation.submit',
            target: `annotation-job:${id}`,
            consortiumId: p.consortiumId,
            detail: { modelVersionId: version.id, file: file.fileName, sha256: stored.sha256 },
          },
          tx,
        );
      });
    } catch (e) {
      await this.store.remove(inputKey).catch(() => undefined);
      throw e;
    }
    try {
      await this.queue.add('annotate', { annotationJobId: id }, { jobId: id });
    } catch (e) {
      this.logger.error(`enqueueing annotation job ${id}: ${(e as Error).message}`);
      await this.db.annotationJob.update({
        where: { id },
        data: {
          status: 'failed',
          error: 'the annotation queue could not be reached; submit the file again later',
        },
      });
      throw new ServiceUnavailableException(
        'The annotation queue could not be reached; submit the file again later.',
      );
    }
    return { id, status: 'queued' };
  }

  async list(principal: Principal, page: { limit: number; offset: number }): Promise<AnnotationJob[]> {
    const p = consortiumPrincipal(principal, 'list annotation jobs');
    const where: Prisma.AnnotationJobWhereInput =
      p.kind === 'member' ? { institutionId: p.institutionId } : { consortiumId: p.consortiumId };
    const rows = await this.db.annotationJob.findMany({
      where,
      orderBy: { createdAt: 'desc' },
      take: page.limit,
      skip: page.offset,
    });
    return rows.map(toAnnotationJob);
  }

  async get(principal: Principal, id: string): Promise<AnnotationJob> {
    return toAnnotationJob(await this.getRow(principal, id));
  }

  /** A finished job's result file, read whole and checked against its recorded sha256. */
  async resultFile(principal: Principal, id: string, name: ResultFileName): Promise<Buffer> {
    const row = await this.getRow(principal, id);
    if (row.status !== 'completed') {
      const why = row.status === 'failed' ? `failed: ${row.error ?? 'unknown error'}` : `is ${row.status}`;
      throw new ConflictException(`Annotation job ${id} ${why}; ${name} exists only once it has completed.`);
    }
    const ref = (row.resultKeys as Record<string, { key: string; sha256: string } | undefined>)[name];
    if (!ref) throw new NotFoundException(`Annotation job ${id} has no ${name}.`);
    return this.store.getBuffer(ref.key, ref.sha256);
  }

  /** A member reaches its institution's jobs; an admin the consortium's; others get 404. */
  private async getRow(principal: Principal, id: string): Promise<AnnotationJobRow> {
    const p = consortiumPrincipal(principal, 'read annotation jobs');
    const row = isUuid(id) ? await this.db.annotationJob.findUnique({ where: { id } }) : null;
    const visible =
      row !== null &&
      (p.kind === 'admin'
        ? row.consortiumId === p.consortiumId
        : row.institutionId !== null &&
          canReachInstitution(p, { id: row.institutionId, consortiumId: row.consortiumId }));
    if (!row || !visible) throw new NotFoundException(`Annotation job ${id} not found.`);
    return row;
  }
}

function parseThreshold(raw: string | undefined): { rejectThreshold: number | null; autoReject: boolean } {
  if (raw === undefined || raw.trim() === '') return { rejectThreshold: null, autoReject: false };
  if (raw.trim().toLowerCase() === 'auto') return { rejectThreshold: null, autoReject: true };
  const value = Number(raw);
  if (!Number.isFinite(value) || value < -1 || value > 1) {
    throw new BadRequestException(
      `rejectThreshold "${raw}": expected a correlation between -1 and 1 (cells below it are labelled unassigned), ` +
        'or "auto" (a threshold per predicted type, chosen from the query itself).',
    );
  }
  return { rejectThreshold: value, autoReject: false };
}
