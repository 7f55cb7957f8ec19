import { migrate, MigrationError, resolveMigrationsDir } from './migrate';

/**
 * `node dist/db/migrate.js`: applies the pending SQL migrations to DATABASE_URL (deploy step,
 * container start). Exit codes: 0 done, 1 a migration or the database failed, 2 bad usage.
 */
const USAGE = `Usage: node dist/db/migrate.js

Applies the pending migrations of prisma/migrations (in name order, each in a transaction,
recorded in _prisma_migrations as \`prisma migrate deploy\` does) to the database.

Environment:
  DATABASE_URL     postgresql://user:password@host:port/database (required)
  MIGRATIONS_DIR   migrations folder (default: prisma/migrations under the working directory)
`;

function fail(message: string, code: number): never {
  process.stderr.write(`error: ${message}\n`);
  process.exit(code);
}

/** The URL, or why it is unusable; the URL itself is never echoed (it may hold a password). */
function databaseUrlFromEnv(): string {
  const url = process.env.DATABASE_URL;
  if (!url) fail('DATABASE_URL is not set (postgresql://user:password@host:port/database)', 2);
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    fail('DATABASE_URL is not a valid URL (postgresql://user:password@host:port/database)', 2);
  }
  if (protocol !== 'postgresql:' && protocol !== 'postgres:') {
    fail(`DATABASE_URL must be a postgresql:// URL, not ${protocol}//`, 2);
  }
  return url;
}

/** Node reports a refused connection to every address of a host as an AggregateError. */
function describe(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return error.errors.map(describe).join('; ');
  }
  return error instanceof Error ? error.message || error.name : String(error);
}

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(USAGE);
  process.exit(0);
}
if (args.length > 0) fail(`unexpected argument ${args[0]} (see --help)`, 2);

const url = databaseUrlFromEnv();
try {
  const applied = await migrate(url, { log: (line) => process.stdout.write(`${line}\n`) });
  process.stdout.write(
    applied.length === 0
      ? `database is up to date (${resolveMigrationsDir()})\n`
      : `applied ${applied.length} migration${applied.length === 1 ? '' : 's'}: ${applied.join(', ')}\n`,
  );
} catch (error) {
  if (error instanceof MigrationError) fail(error.message, 1);
  fail(`cannot migrate the database: ${describe(error)}`, 1);
}
