// The thread that reads one uploaded file (or checks one imported model bundle) at a time (dist/api/validate-upload-worker.js), started
// by the api's UploadValidationPool: parsing a hostile file costs this thread seconds of CPU
// while the api's event loop keeps answering. Its heap is capped by the pool (resourceLimits).
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { InputError, InputLimitError, summarizeExpression } from '@fl/formats';
import { prepareBundle } from '../models/bundle-prepare';
import type {
  BundleCheckAnswer,
  BundleCheckRequest,
  SerializedError,
  SummaryAnswer,
  SummaryRequest,
  ValidationAnswer,
  ValidationRequest,
} from './upload-summary-protocol';

/** Niceness of a validation thread (0 = the api's, 19 = the lowest). */
const UPLOAD_THREAD_NICE = 10;

function serialize(e: unknown): SerializedError {
  if (e instanceof InputLimitError) {
    return { name: e.name, message: e.message, limit: e.limit, file: e.file, line: e.line };
  }
  if (e instanceof InputError) return { name: e.name, message: e.message, file: e.file, line: e.line };
  return { name: 'Error', message: e instanceof Error ? e.message : String(e) };
}

async function answer(request: SummaryRequest): Promise<SummaryAnswer> {
  try {
    const read = await summarizeExpression(request.path, {
      role: request.role,
      limits: request.limits,
      limitSettings: request.limitSettings,
    });
    return {
      ok: true,
      summary: { cells: read.cells, genes: read.genes.length, typeCounts: read.typeCounts },
    };
  } catch (e) {
    return { ok: false, error: serialize(e) };
  }
}

/** Checks and parses an imported model bundle; the api gets back file paths and the manifest. */
async function answerBundle(request: BundleCheckRequest): Promise<BundleCheckAnswer> {
  try {
    const bundle = await prepareBundle(
      request.dir,
      request.archiveName,
      { maxGenes: request.maxGenes },
      request.outDir,
    );
    return { ok: true, bundle };
  } catch (e) {
    return { ok: false, error: serialize(e) };
  }
}

if (!parentPort) throw new Error('validate-upload-worker must run as a worker thread');
// Reading files is background work: when the CPU is contended, the api's event loop (the same
// process) must win, or /health/live and every request wait on a bomb. On Linux this lowers the
// calling thread's priority only; elsewhere it may apply to the process, or be refused.
if (process.platform === 'linux') {
  try {
    setPriority(UPLOAD_THREAD_NICE);
  } catch {
    // Not allowed here (a container's seccomp profile): run at the api's priority.
  }
}
const port = parentPort;
port.on('message', (request: ValidationRequest) => {
  const answering: Promise<ValidationAnswer> =
    request.task === 'bundle' ? answerBundle(request) : answer(request);
  void answering.then((a) => port.postMessage(a));
});
