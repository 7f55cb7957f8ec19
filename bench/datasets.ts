import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * Where the benchmarks find their scenarios. The data sets are not part of a clone (they are
 * large public downloads kept beside it, in ../shared/datasets), so a missing folder is the
 * first thing a new user meets: it gets a message saying where and how to point elsewhere.
 */
export const DEFAULT_DATASETS = '../shared/datasets';
export const DATASETS_ENV = 'SCPRIVACY_DATASETS';

/** A mistake in how a benchmark was started: printed without a stack trace, exit code 2. */
export class BenchUsageError extends Error {
  override name = 'BenchUsageError';
}

/** The `--data` default: $SCPRIVACY_DATASETS when set, else ../shared/datasets. */
export function defaultDatasetsDir(): string {
  return process.env[DATASETS_ENV] || DEFAULT_DATASETS;
}

export const DATASETS_OPTION_HELP =
  `scenarios folder (default: $${DATASETS_ENV} if set, else ${DEFAULT_DATASETS}, ` +
  'relative to the current folder)';

/**
 * Resolves the scenarios folder and checks that each of `required` (paths inside it) exists,
 * so a benchmark fails before it starts anything rather than minutes in.
 */
export function checkDatasets(dir: string, required: readonly string[]): string {
  const root = resolve(dir);
  const missing = [root, ...required.map((p) => join(root, p))].find((p) => !existsSync(p));
  if (missing === undefined) return root;
  const what =
    missing === root ? `the benchmark datasets folder ${root} does not exist` : `${missing} does not exist`;
  throw new BenchUsageError(
    `${what}.\n` +
      `  The benchmarks read real labelled scenarios (<scenario>/reference/*.csv, <scenario>/query/*.csv ` +
      `and its .labels.tsv), by default from ${DEFAULT_DATASETS} relative to the current folder; ` +
      `they are not part of the repository.\n` +
      `  Point elsewhere with --data <dir> (npm run bench -- --data <dir>) or ${DATASETS_ENV}=<dir>.`,
  );
}

/** Runs a benchmark's main: a usage mistake is one message and exit code 2; anything else keeps its stack. */
export function runBenchMain(name: string, main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    if (error instanceof BenchUsageError) {
      process.stderr.write(`error: ${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`${name}: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
}
