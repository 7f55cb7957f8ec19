import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  annotateMatrix,
  formatPredictionsCsv,
  formatResultTxt,
  UNASSIGNED,
  type FederatedModel,
  type NovelGroup,
} from '@fl/federation';
import { readExpression } from '@fl/formats';
import type { Prisma, PrismaClient } from '@fl/persistence';
import { objectKeys } from '@fl/platform';
import type { ObjectStore } from '@fl/storage';
import { inputProblem } from '../common/input-problem';
import { assembleModelVersion } from '../models/model-loader';

export type RunOutcome = 'completed' | 'failed' | 'skipped';

/**
 * Claims a job runs: one found 'running' lost its runner (the api or the job's process was
 * killed) and is tried once more; found 'running' after this many claims, it is failed instead,
 * so a query that kills its runner cannot make every restart of the api run it again.
 */
export const MAX_ATTEMPTS = 2;

/** The outcome of claiming a job: run it as attempt `attempt`, or leave it. */
export type Claim = { kind: 'claimed'; attempt: number } | { kind: 'skipped' } | { kind: 'gave-up' };

/** AnnotationJob.summary */
export interface AnnotationSummary {
  cells: number;
  labelCounts: Record<string, number>;
  unassigned: number;
  coveredGenes: number;
  modelGenes: number;
  seconds: number;
  /** rejectThreshold "auto": the correlation chosen per predicted type. */
  autoThresholds?: Record<string, number>;
  /** rejectThreshold "auto" found a separate low-confidence group (cells, threshold, separation, mean correlations). */
  autoNovelGroup?: NovelGroup;
}

type ResultFile = 'result.txt' | 'predictions.csv';

/**
 * Runs one annotation job: model from storage, query from storage, annotateMatrix, and the two
 * result files the command line writes. Plain class (no Nest, no queue) so it can be tested and
 * run by any process. Results are stored first and published by one row update; a job that
 * fails leaves no result objects and its error (the parser's message for a bad query file).
 */
export class AnnotationRunner {
  /** The last model used: consecutive jobs usually share one. */
  private cached?: { id: string; model: FederatedModel };

  constructor(
    private readonly db: PrismaClient,
    private readonly store: ObjectStore,
    private readonly options: { threads?: number; log?: (message: string) => void } = {},
  ) {}

  /** Claims and runs the job in this process. */
  async run(jobId: string, options: { limits?: string } = {}): Promise<RunOutcome> {
    const claim = await this.claim(jobId, options.limits ?? 'none set');
    if (claim.kind === 'skipped') return 'skipped';
    if (claim.kind === 'gave-up') return 'failed';
    return this.execute(jobId, claim.attempt);
  }

  /**
   * Marks the job running as attempt n+1. The update is conditional on the row being as read,
   * so of two runners handed the same job only one claims it. `limits` describes the operator's
   * settings for the message of a job that stopped its runner twice.
   */
  async claim(jobId: string, limits: string): Promise<Claim> {
    const job = await this.db.annotationJob.findUnique({ where: { id: jobId } });
    // Retries and duplicate deliveries are normal: a finished job is never redone.
    if (!job || job.status === 'completed' || job.status === 'failed') return { kind: 'skipped' };
    if (job.status === 'running' && job.attempts >= MAX_ATTEMPTS) {
      await this.fail(
        jobId,
        job.attempts,
        `the annotation stopped unexpectedly twice; the query may be too large for this server (limits: ${limits})`,
      );
      return { kind: 'gave-up' };
    }
    const attempt = job.attempts + 1;
    const claimed = await this.db.annotationJob.updateMany({
      where: { id: jobId, status: job.status, attempts: job.attempts },
      data: { status: 'running', attempts: attempt },
    });
    return claimed.count === 1 ? { kind: 'claimed', attempt } : { kind: 'skipped' };
  }

  /**
   * Fails attempt `attempt` of a running job. Every final update names the attempt it belongs
   * to, so a job is finished exactly once even if a runner presumed dead is still at work.
   */
  async fail(jobId: string, attempt: number, message: string): Promise<boolean> {
    const updated = await this.db.annotationJob.updateMany({
      where: { id: jobId, status: 'running', attempts: attempt },
      data: { status: 'failed', error: message, resultKeys: {}, finishedAt: new Date() },
    });
    return updated.count === 1;
  }

  /** Fails a job that is neither finished nor claimable any more (the queue gave up on it). */
  async abandon(jobId: string, message: string): Promise<boolean> {
    const updated = await this.db.annotationJob.updateMany({
      where: { id: jobId, status: { in: ['queued', 'running'] } },
      data: { status: 'failed', error: message, resultKeys: {}, finishedAt: new Date() },
    });
    return updated.count === 1;
  }

  /**
   * Puts a claimed job back in the queue's hands uncounted (the api is stopping, the job's
   * fault it was not).
   */
  async release(jobId: string, attempt: number): Promise<void> {
    await this.db.annotationJob.updateMany({
      where: { id: jobId, status: 'running', attempts: attempt },
      data: { status: 'queued', attempts: attempt - 1 },
    });
  }

  /** Runs attempt `attempt` of a claimed job: the work, its result files and its final row update. */
  async execute(jobId: string, attempt: number): Promise<RunOutcome> {
    const job = await this.db.annotationJob.findUnique({ where: { id: jobId } });
    if (!job || job.status !== 'running' || job.attempts !== attempt) return 'skipped';
    const started = performance.now();
    const written: string[] = [];
    const dir = await mkdtemp(join(tmpdir(), 'scprivacy-annotate-'));
    try {
      const model = await this.model(job.modelVersionId);
      const input = await this.store.getBuffer(job.inputKey, job.inputSha256);
      const path = join(dir, job.inputFileName);
      await writeFile(path, input);
      let annotation;
      try {
        const matrix = await readExpression(path, { role: 'query' });
        annotation = await annotateMatrix(model, matrix, {
          rejectThreshold: job.autoReject ? 'auto' : (job.rejectThreshold ?? undefined),
          threads: this.options.threads ?? Math.max(1, availableParallelism() - 1),
        });
      } catch (e) {
        throw new QueryFileError(inputProblem(e, dir, job.inputFileName));
      }
      const files: Record<ResultFile, string> = {
        'result.txt': formatResultTxt([annotation]),
        'predictions.csv': formatPredictionsCsv([annotation]),
      };
      const resultKeys: Record<string, { key: string; sha256: string; bytes: number }> = {};
      for (const [name, text] of Object.entries(files) as [ResultFile, string][]) {
        const key = objectKeys.annotationResult(jobId, name);
        written.push(key);
        const stored = await this.store.putBuffer(key, Buffer.from(text, 'utf8'), {
          contentType: name.endsWith('.csv') ? 'text/csv' : 'text/plain',
        });
        resultKeys[name] = { key: stored.key, sha256: stored.sha256, bytes: stored.bytes };
      }
      const labelCounts: Record<string, number> = {};
      for (const label of annotation.labels) labelCounts[label] = (labelCounts[label] ?? 0) + 1;
      const summary: AnnotationSummary = {
        cells: annotation.cellIds.length,
        labelCounts,
        unassigned: labelCounts[UNASSIGNED] ?? 0,
        coveredGenes: annotation.coveredGenes,
        modelGenes: annotation.modelGenes,
        seconds: (performance.now() - started) / 1000,
        ...(annotation.autoThresholds && { autoThresholds: annotation.autoThresholds }),
        ...(annotation.autoNovelGroup && { autoNovelGroup: annotation.autoNovelGroup }),
      };
      const published = await this.db.annotationJob.updateMany({
        where: { id: jobId, status: 'running', attempts: attempt },
        data: {
          status: 'completed',
          resultKeys: resultKeys as Prisma.InputJsonObject,
          summary: summary as unknown as Prisma.InputJsonObject,
          error: null,
          finishedAt: new Date(),
        },
      });
      // Another runner finished or failed this job meanwhile: its row stands.
      if (published.count === 0) return 'skipped';
      return 'completed';
    } catch (e) {
      for (const key of written) await this.store.remove(key).catch(() => undefined);
      const message =
        e instanceof QueryFileError ? e.message : `The annotation could not run: ${(e as Error).message}`;
      this.options.log?.(`annotation job ${jobId} failed: ${message}`);
      return (await this.fail(jobId, attempt, message)) ? 'failed' : 'skipped';
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private async model(modelVersionId: string): Promise<FederatedModel> {
    if (this.cached?.id === modelVersionId) return this.cached.model;
    const version = await this.db.modelVersion.findUniqueOrThrow({
      where: { id: modelVersionId },
      include: { landmarkSets: true },
    });
    const model = await assembleModelVersion(this.store, version, version.landmarkSets);
    this.cached = { id: modelVersionId, model };
    return model;
  }
}

/** The query file could not be read or does not fit the model: the user's to fix. */
class QueryFileError extends Error {}
