import type { MigrationFile } from './migration-files';
import { matchesChecksum } from './migration-files';
import type { MigrationRow } from './migrations-table';

/** A migration that cannot be applied or that disagrees with what the database recorded. */
export class MigrationError extends Error {
  constructor(
    message: string,
    /** The folder name of the migration at fault. */
    readonly migration: string,
  ) {
    super(message);
    this.name = 'MigrationError';
  }
}

export interface MigrationPlan {
  pending: MigrationFile[];
  /** Applied in the database but absent here: a newer release migrated it; not an error. */
  unknown: string[];
}

/**
 * Compares the local migrations with _prisma_migrations the way `prisma migrate deploy` does:
 * rows marked rolled back do not count, an unfinished row is a failed migration that someone
 * must resolve first, and an applied migration whose file changed since is refused.
 */
export function planMigrations(files: MigrationFile[], rows: MigrationRow[]): MigrationPlan {
  const live = rows.filter((row) => row.rolled_back_at === null);
  const failed = live.find((row) => row.finished_at === null);
  if (failed) {
    throw new MigrationError(
      `migration ${failed.migration_name} failed earlier and is not marked rolled back; ` +
        'fix the database and mark it (prisma migrate resolve) before migrating again',
      failed.migration_name,
    );
  }
  const applied = new Map(live.map((row) => [row.migration_name, row.checksum]));
  for (const file of files) {
    const checksum = applied.get(file.name);
    if (checksum !== undefined && !matchesChecksum(file.sql, checksum)) {
      throw new MigrationError(
        `migration ${file.name} was modified after it was applied (checksum mismatch): ` +
          'restore the applied file and put the change in a new migration',
        file.name,
      );
    }
  }
  const local = new Set(files.map((file) => file.name));
  return {
    pending: files.filter((file) => !applied.has(file.name)),
    unknown: [...applied.keys()].filter((name) => !local.has(name)),
  };
}
