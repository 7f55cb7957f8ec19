import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  BadRequestException,
  Inject,
  Injectable,
  InternalServerErrorException,
  type OnModuleDestroy,
  type OnModuleInit,
  ServiceUnavailableException,
} from '@nestjs/common';
import { type DatasetRole, InputError, InputLimitError } from '@fl/formats';
import { READ_LIMIT_SETTINGS, type ApiConfig } from '../config/api-config';
import { API_CONFIG } from '../config/config.module';
import { BundleTooLargeError } from '../models/bundle-errors';
import type { PreparedBundle } from '../models/bundle-prepare';
import type {
  BundleCheckRequest,
  SerializedError,
  SummaryRequest,
  UploadSummary,
  ValidationAnswer,
  ValidationRequest,
} from './upload-summary-protocol';
import { WorkerPool, type PoolOutcome } from './worker-pool';

/**
 * Where the bundled validation thread is: beside the running bundle (dist/api), or, when the api
 * runs from source (tests), in the repository's dist/ after `npm run build`.
 */
export function findValidationWorkerScript(): string | undefined {
  const candidates = [
    fileURLToPath(new URL('./validate-upload-worker.js', import.meta.url)),
    fileURLToPath(new URL('../../../../dist/api/validate-upload-worker.js', import.meta.url)),
  ];
  return candidates.find((c) => existsSync(c));
}

/**
 * A file refused because reading it overran the validation thread's time or memory: the
 * user's file is the problem (413), like a read limit, but the setting is the api's own.
 */
export class ValidationLimitError extends InputError {
  constructor(
    message: string,
    readonly setting: string,
    file: string,
  ) {
    super(message, file);
    this.name = 'ValidationLimitError';
  }
}

function rebuild(e: SerializedError): Error {
  if (e.name === 'BundleTooLargeError') return new BundleTooLargeError(e.message);
  if (e.name === 'InputLimitError' && e.limit) return new InputLimitError(e.message, e.limit, e.file, e.line);
  if (e.name === 'InputError') return new InputError(e.message, e.file, e.line);
  return new Error(e.message);
}

/**
 * Reads uploaded files in worker threads (issue 10): a file crafted to cost seconds of CPU per
 * megabyte (millions of tiny rows) would otherwise hold up the api's event loop, and with it
 * every request and /health/live. Read limits name the api's environment variables.
 */
@Injectable()
export class UploadValidator implements OnModuleInit, OnModuleDestroy {
  private pool?: WorkerPool<ValidationRequest, ValidationAnswer>;

  constructor(@Inject(API_CONFIG) private readonly config: ApiConfig) {}

  /**
   * The file's summary, or: InputError (400) / InputLimitError or ValidationLimitError (413)
   * naming the file and the setting; 503 when every thread is busy and the queue is full.
   */
  async summarize(path: string, role: DatasetRole, signal?: AbortSignal): Promise<UploadSummary> {
    const request: SummaryRequest = {
      path,
      role,
      limits: this.config.readLimits,
      limitSettings: READ_LIMIT_SETTINGS,
    };
    const outcome = await this.threads().run(request, signal);
    if (outcome.kind === 'result') {
      const answer = outcome.result;
      if (answer.ok && 'summary' in answer) return answer.summary;
      if (!answer.ok) throw rebuild(answer.error);
      throw new InternalServerErrorException('The validation thread answered a dataset with a bundle.');
    }
    throw this.failure(outcome, path);
  }

  /**
   * Checks and parses a model bundle extracted in `dir` in a thread (JSON.parse and the check of
   * every landmark number take seconds for a big bundle), writing its objects into `outDir`.
   * Errors as summarize's: InputError (400), BundleTooLargeError or ValidationLimitError (413).
   */
  async checkBundle(
    request: Omit<BundleCheckRequest, 'task'>,
    signal?: AbortSignal,
  ): Promise<PreparedBundle> {
    const outcome = await this.threads().run({ task: 'bundle', ...request }, signal);
    if (outcome.kind === 'result') {
      const answer = outcome.result;
      if (answer.ok && 'bundle' in answer) return answer.bundle;
      if (!answer.ok) throw rebuild(answer.error);
      throw new InternalServerErrorException(
        'The validation thread answered a bundle with a dataset summary.',
      );
    }
    throw this.failure(outcome, request.archiveName);
  }

  onModuleInit(): void {
    try {
      this.threads().warm();
    } catch {
      // No worker program (not built): each upload is answered 503 saying so.
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.pool?.close();
  }

  private threads(): WorkerPool<ValidationRequest, ValidationAnswer> {
    if (this.pool) return this.pool;
    const script = findValidationWorkerScript();
    if (!script) {
      throw new ServiceUnavailableException(
        'Uploads cannot be checked: the validation program (dist/api/validate-upload-worker.js) is missing; ' +
          'the operator must run `npm run build`.',
      );
    }
    const v = this.config.uploadValidation;
    this.pool = new WorkerPool({
      script,
      size: v.threads,
      maxQueue: v.queue,
      timeoutMs: v.timeoutSeconds * 1000,
      maxMemoryMb: v.maxMemoryMb,
    });
    return this.pool;
  }

  private failure(outcome: Exclude<PoolOutcome<ValidationAnswer>, { kind: 'result' }>, path: string): Error {
    const v = this.config.uploadValidation;
    switch (outcome.kind) {
      case 'timeout':
        return new ValidationLimitError(
          `${path}: checking the file took longer than the limit of ${v.timeoutSeconds} s ` +
            '(UPLOAD_VALIDATION_TIMEOUT_SECONDS); if the file is genuine, raise UPLOAD_VALIDATION_TIMEOUT_SECONDS',
          'UPLOAD_VALIDATION_TIMEOUT_SECONDS',
          path,
        );
      case 'memory':
        return new ValidationLimitError(
          `${path}: checking the file needed more than the limit of ${v.maxMemoryMb} MB of memory ` +
            '(UPLOAD_VALIDATION_MAX_MEMORY_MB); if the file is genuine, raise UPLOAD_VALIDATION_MAX_MEMORY_MB',
          'UPLOAD_VALIDATION_MAX_MEMORY_MB',
          path,
        );
      case 'busy':
        return new ServiceUnavailableException(
          `The server is busy checking other uploads (${v.threads} UPLOAD_VALIDATION_THREADS, ` +
            `${v.queue} UPLOAD_VALIDATION_QUEUE waiting); try again in a minute.`,
        );
      case 'aborted':
        return new BadRequestException('The upload was cancelled by the client before it was checked.');
      case 'stopped':
        return new ServiceUnavailableException('The api is stopping; try the upload again in a minute.');
      case 'crashed':
        return new InternalServerErrorException(`The upload could not be checked: ${outcome.message}.`);
    }
  }
}
