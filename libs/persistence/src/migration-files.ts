import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/** One folder of prisma/migrations: its name orders it, migration.sql is the script. */
export interface MigrationFile {
  name: string;
  sql: string;
  /** sha256 (hex) of the file's bytes, as Prisma records it in _prisma_migrations.checksum. */
  checksum: string;
}

/**
 * Where the migrations are: the explicit option, else MIGRATIONS_DIR, else prisma/migrations
 * under the working directory. Not relative to this module, because the same code runs from
 * source (tests) and bundled into dist/db/migrate.js.
 */
export function resolveMigrationsDir(dir?: string): string {
  return resolve(process.cwd(), dir ?? process.env.MIGRATIONS_DIR ?? 'prisma/migrations');
}

export function sha256Hex(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Prisma's own comparison (schema-engine checksum.rs): the recorded checksum may come from a
 * checkout with other line endings (git on Windows), so LF and CRLF variants also match.
 */
export function matchesChecksum(sql: string, checksum: string): boolean {
  const variants = [sql, sql.replace(/\r\n/g, '\n'), sql.replace(/\r?\n/g, '\r\n')];
  return variants.some((variant) => sha256Hex(variant) === checksum);
}

/**
 * Prisma refuses migrations written for another database (migration_lock.toml's provider);
 * so does this runner. A folder without the lock file is accepted, as Prisma accepts it.
 */
export async function checkLockProvider(dir: string): Promise<void> {
  const file = join(dir, 'migration_lock.toml');
  if (!existsSync(file)) return;
  const provider = /^\s*provider\s*=\s*"([^"]*)"/m.exec(await readFile(file, 'utf8'))?.[1];
  if (provider !== 'postgresql') {
    throw new Error(`${file} is for ${provider ?? 'no provider'}, not postgresql`);
  }
}

/** The migrations of a folder in name order (byte order, like the schema engine). */
export async function readMigrationFiles(dir: string): Promise<MigrationFile[]> {
  if (!existsSync(dir)) throw new Error(`migrations folder not found: ${dir}`);
  const entries = await readdir(dir, { withFileTypes: true });
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return Promise.all(
    names.map(async (name) => {
      const file = join(dir, name, 'migration.sql');
      if (!existsSync(file)) throw new Error(`migration ${name} has no migration.sql (${file})`);
      const bytes = await readFile(file);
      return { name, sql: bytes.toString('utf8'), checksum: sha256Hex(bytes) };
    }),
  );
}
