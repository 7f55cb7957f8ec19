import { randomUUID } from 'node:crypto';
import pg from 'pg';
import {
  checkLockProvider,
  type MigrationFile,
  readMigrationFiles,
  resolveMigrationsDir,
} from './migration-files';
import { MigrationError, planMigrations } from './migration-plan';
import { ensureMigrationsTable, readMigrationRows, recordMigration } from './migrations-table';

export { MigrationError } from './migration-plan';
export { resolveMigrationsDir } from './migration-files';

export interface MigrateOptions {
  /** Default: MIGRATIONS_DIR, else prisma/migrations under the working directory. */
  migrationsDir?: string;
  /** Progress lines (one per migration, and warnings). */
  log?: (message: string) => void;
}

/**
 * The key Prisma's schema engine locks on Postgres: `prisma migrate deploy` and this runner
 * exclude each other as well as themselves.
 */
const PRISMA_MIGRATE_LOCK = 72707369;

/**
 * Applies the pending migrations of prisma/migrations in name order, each in its own
 * transaction together with its _prisma_migrations row, so a failing migration leaves neither
 * changes nor a record. Concurrent callers serialise on an advisory lock; the later ones find
 * nothing to do. Returns the names applied.
 */
export async function migrate(databaseUrl: string, options: MigrateOptions = {}): Promise<string[]> {
  const dir = resolveMigrationsDir(options.migrationsDir);
  const log = options.log ?? (() => undefined);
  // Read first: a broken migrations folder fails before touching the database.
  await checkLockProvider(dir);
  const files = await readMigrationFiles(dir);
  const client = new pg.Client({ connectionString: databaseUrl });
  // A dropped connection also fails the query in flight; unheard, the event would end the process.
  client.on('error', () => undefined);
  await client.connect();
  try {
    // A session lock: it spans the per-migration transactions, and ends with the connection.
    await client.query('SELECT pg_advisory_lock($1)', [PRISMA_MIGRATE_LOCK]);
    await ensureMigrationsTable(client);
    const plan = planMigrations(files, await readMigrationRows(client));
    for (const name of plan.unknown) log(`warning: ${name} is applied but not in ${dir}`);
    const applied: string[] = [];
    for (const migration of plan.pending) {
      log(`applying ${migration.name}`);
      await applyMigration(client, migration);
      applied.push(migration.name);
    }
    return applied;
  } finally {
    await client.end();
  }
}

async function applyMigration(client: pg.Client, migration: MigrationFile): Promise<void> {
  await client.query('BEGIN');
  try {
    // No parameters: node-postgres sends the simple query protocol, which runs a whole script.
    await client.query(migration.sql);
    await recordMigration(client, { id: randomUUID(), ...migration });
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    const reason = error instanceof Error ? error.message : String(error);
    throw new MigrationError(
      `migration ${migration.name} failed and was rolled back: ${reason}`,
      migration.name,
    );
  }
}
