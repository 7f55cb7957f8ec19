import type pg from 'pg';

/**
 * Prisma's bookkeeping table, created exactly as the schema engine creates it, so that
 * `prisma migrate deploy` / `migrate status` on a machine that has the engine read our rows as
 * their own (and the reverse).
 */
const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
)`;

export interface MigrationRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

export async function ensureMigrationsTable(client: pg.Client): Promise<void> {
  await client.query(CREATE_TABLE);
}

export async function readMigrationRows(client: pg.Client): Promise<MigrationRow[]> {
  const { rows } = await client.query<MigrationRow>(
    'SELECT migration_name, checksum, finished_at, rolled_back_at FROM _prisma_migrations ORDER BY started_at',
  );
  return rows;
}

/**
 * Records a migration, inside its transaction, as Prisma does after a successful run: one
 * step applied, finished. The database's clock: now() is the transaction's start, that is the
 * migration's, and clock_timestamp() the moment it finished.
 */
export async function recordMigration(
  client: pg.Client,
  migration: { id: string; name: string; checksum: string },
): Promise<void> {
  await client.query(
    `INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
     VALUES ($1, $2, $3, now(), clock_timestamp(), 1)`,
    [migration.id, migration.checksum, migration.name],
  );
}
