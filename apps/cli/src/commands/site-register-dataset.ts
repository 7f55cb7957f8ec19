import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, isAbsolute, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { InputError, readExpression } from '@fl/formats';
import { emitJson, jsonOnStdout, type JsonOption } from '../json-output';
import { API_EXIT_CODE, ConsortiumError } from './consortium-api';
import { apiUrl, checkInstitutionName, refuseTokenOption, readToken } from './consortium-inputs';

/**
 * `scprivacy site register-dataset`: run at the site, next to the data. Reads the reference file
 * locally (the same readers the worker uses), computes what the consortium may know of it (cells,
 * genes, cells per type, sha256, size) and registers it as a site-local dataset over REST with the
 * institution's member token. The file itself never leaves the site.
 */

export const MEMBER_TOKEN_ENV = 'SCPRIVACY_TOKEN';

export interface RegisterDatasetOptions {
  api?: string;
  tokenFile?: string;
  token?: string;
  institution: string;
  file: string;
  workerPath?: string;
  name?: string;
  json?: JsonOption;
}

interface SiteDatasetSummary {
  name: string;
  path: string;
  cells: number;
  genes: number;
  typeCounts: Record<string, number>;
  sha256: string;
  sizeBytes: number;
}

export async function registerDatasetAction(opts: RegisterDatasetOptions): Promise<void> {
  if (opts.token !== undefined) refuseTokenOption(MEMBER_TOKEN_ENV);
  const institution = checkInstitutionName(opts.institution);
  const workerPath = opts.workerPath ?? opts.file;
  if (!isAbsolute(workerPath) || !posix.isAbsolute(workerPath)) {
    throw new InputError(
      `--worker-path ${workerPath}: expected the absolute path at which the worker sees the file ` +
        '(inside its SITE_DATA_DIR, e.g. /site-data/references.h5ad)',
    );
  }
  const base = apiUrl(opts.api);
  const token = await readToken(
    opts.tokenFile,
    MEMBER_TOKEN_ENV,
    "the institution's member token (API_TOKEN)",
  );
  const summary = await summarise(opts.file, workerPath, opts.name);

  const endpoint = new URL(`/api/v1/institutions/${institution}/datasets/site`, base).toString();
  let res: Response;
  try {
    res = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(summary),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause;
    throw new ConsortiumError(
      `registering ${summary.name}: cannot reach the API at ${base} (${cause?.code ?? (e as Error).message}); ` +
        `check --api (or SCPRIVACY_API_URL)`,
      API_EXIT_CODE,
    );
  }
  const text = await res.text();
  if (!res.ok) {
    let message = text.slice(0, 500);
    try {
      const body = JSON.parse(text) as { message?: string | string[] };
      if (body.message) message = Array.isArray(body.message) ? body.message.join('; ') : body.message;
    } catch {
      // Not JSON: the raw text (cut) says more than nothing.
    }
    const hint =
      res.status === 401 || res.status === 403
        ? ` (is the token ${institution}'s member token, from --token-file or ${MEMBER_TOKEN_ENV}?)`
        : '';
    throw new ConsortiumError(
      `registering ${summary.name}: the API answered HTTP ${res.status}: ${message}${hint}`,
      API_EXIT_CODE,
    );
  }
  const dataset = JSON.parse(text) as { id: string };
  await emitJson(opts.json, JSON.stringify({ id: dataset.id, institution, ...summary }, null, 2));
  if (jsonOnStdout(opts.json)) return;
  const types = Object.entries(summary.typeCounts)
    .map(([type, n]) => `${type} ${n}`)
    .join(', ');
  process.stdout.write(
    `Registered ${summary.name} for ${institution} (dataset ${dataset.id}): ${summary.cells} cells, ` +
      `${summary.genes} genes; ${types}.\n` +
      `Only this summary went to the consortium; the worker reads the file at ${summary.path}.\n` +
      `Use it in a federation with datasets: [{ institution: "${institution}", datasetIds: ["${dataset.id}"] }].\n`,
  );
}

/** What the consortium is told about a reference file, read exactly as the worker will read it. */
async function summarise(file: string, workerPath: string, name?: string): Promise<SiteDatasetSummary> {
  const size = await stat(file).catch(() => {
    throw new InputError(`--file ${file}: no such file`, file);
  });
  const matrix = await readExpression(file, { role: 'reference' });
  if (!matrix.labels) {
    throw new InputError(`${file}: a reference needs a cell_label for every cell; found none`, file);
  }
  const typeCounts: Record<string, number> = {};
  for (const label of matrix.labels) typeCounts[label] = (typeCounts[label] ?? 0) + 1;
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return {
    name: name ?? basename(file).replace(/\.(h5ad|csv|tsv|txt)(\.gz)?$/i, ''),
    path: workerPath,
    cells: matrix.cellIds.length,
    genes: matrix.genes.length,
    typeCounts,
    sha256: hash.digest('hex'),
    sizeBytes: size.size,
  };
}
