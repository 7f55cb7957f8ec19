import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createEmptyDatabase, type EmptyDatabase } from '../../../scripts/local-stack/postgres';
import { migrate, MigrationError } from './migrate';

const MIGRATIONS = fileURLToPath(new URL('../../../prisma/migrations', import.meta.url));
const INIT = '20261125000000_init';
// Every migration the repository ships, in name order: a new migration does not break these tests.
const SHIPPED = readdirSync(MIGRATIONS, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

async function emptyDatabase(label: string): Promise<EmptyDatabase> {
  const database = await createEmptyDatabase(label);
  cleanups.push(() => database.drop());
  return database;
}

/** A migrations folder holding the given scripts, by name. */
async function migrationsDir(scripts: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'scp-migrations-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  for (const [name, sql] of Object.entries(scripts)) await writeMigration(dir, name, sql);
  return dir;
}

async function writeMigration(dir: string, name: string, sql: string): Promise<void> {
  await mkdir(join(dir, name), { recursive: true });
  await writeFile(join(dir, name, 'migration.sql'), sql);
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

const tables = (url: string) =>
  query<{ name: string }>(
    url,
    `SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`,
  ).then((rows) => rows.map((row) => row.name));

const recorded = (url: string) =>
  query<{ migration_name: string }>(
    url,
    'SELECT migration_name FROM _prisma_migrations ORDER BY migration_name',
  ).then((rows) => rows.map((row) => row.migration_name));

describe('migrate', () => {
  it('applies the migrations once, recording them as Prisma does; a second run applies nothing', async () => {
    const { url } = await emptyDatabase('migrate_once');
    const lines: string[] = [];

    expect(SHIPPED[0]).toBe(INIT);
    expect(await migrate(url, { migrationsDir: MIGRATIONS, log: (line) => lines.push(line) })).toEqual(
      SHIPPED,
    );
    expect(lines).toEqual(SHIPPED.map((name) => `applying ${name}`));
    expect(await migrate(url, { migrationsDir: MIGRATIONS })).toEqual([]);

    const rows = await query(url, 'SELECT * FROM _prisma_migrations ORDER BY migration_name');
    const expected = await Promise.all(
      SHIPPED.map(async (name) => ({
        id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
        checksum: createHash('sha256')
          .update(await readFile(join(MIGRATIONS, name, 'migration.sql')))
          .digest('hex'),
        finished_at: expect.any(Date),
        migration_name: name,
        logs: null,
        rolled_back_at: null,
        started_at: expect.any(Date),
        applied_steps_count: 1,
      })),
    );
    expect(rows).toEqual(expected);
    for (const row of rows)
      expect(row.finished_at.getTime()).toBeGreaterThanOrEqual(row.started_at.getTime());
  });

  it('finds prisma/migrations from the working directory, or MIGRATIONS_DIR', async () => {
    const { url } = await emptyDatabase('migrate_env');
    const dir = await migrationsDir({ '001_a': 'CREATE TABLE a (id int);' });
    const saved = process.env.MIGRATIONS_DIR;
    process.env.MIGRATIONS_DIR = dir;
    try {
      expect(await migrate(url)).toEqual(['001_a']);
    } finally {
      if (saved === undefined) delete process.env.MIGRATIONS_DIR;
      else process.env.MIGRATIONS_DIR = saved;
    }
    // Vitest runs from the repository root, where the default prisma/migrations is.
    expect(await migrate(url)).toEqual(SHIPPED);
  });

  it('applies in name order, and only what is new', async () => {
    const { url } = await emptyDatabase('migrate_order');
    const dir = await migrationsDir({
      '002_b': 'ALTER TABLE a ADD COLUMN b int;',
      '001_a': 'CREATE TABLE a (id int);',
    });
    expect(await migrate(url, { migrationsDir: dir })).toEqual(['001_a', '002_b']);

    await writeMigration(dir, '003_c', 'CREATE TABLE c (id int); CREATE TABLE d (id int);');
    expect(await migrate(url, { migrationsDir: dir })).toEqual(['003_c']);
    expect(await tables(url)).toEqual(['_prisma_migrations', 'a', 'c', 'd']);
  });

  it('applies each migration once when several runners start together', async () => {
    const { url } = await emptyDatabase('migrate_concurrent');
    // The sleep keeps the first runner inside its transaction while the others arrive.
    const dir = await migrationsDir({
      '001_slow': 'SELECT pg_sleep(0.3); CREATE TABLE slow (id int);',
      '002_next': 'CREATE TABLE next (id int);',
    });

    const runs = await Promise.all([1, 2, 3, 4].map(() => migrate(url, { migrationsDir: dir })));

    expect(runs.flat().sort()).toEqual(['001_slow', '002_next']);
    expect(runs.filter((applied) => applied.length > 0)).toHaveLength(1);
    expect(await recorded(url)).toEqual(['001_slow', '002_next']);
  });

  it('refuses an applied migration whose file changed, naming it', async () => {
    const { url } = await emptyDatabase('migrate_checksum');
    const dir = await migrationsDir({
      '001_a': 'CREATE TABLE a (id int);\n',
      '002_b': 'CREATE TABLE b (id int);\n',
    });
    await migrate(url, { migrationsDir: dir });

    // A checkout with Windows line endings is the same migration (as for Prisma).
    await writeMigration(dir, '001_a', 'CREATE TABLE a (id int);\r\n');
    expect(await migrate(url, { migrationsDir: dir })).toEqual([]);

    await writeMigration(dir, '002_b', 'CREATE TABLE b (id bigint);\n');
    await writeMigration(dir, '003_c', 'CREATE TABLE c (id int);\n');
    const error = await migrate(url, { migrationsDir: dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    expect(error).toMatchObject({
      migration: '002_b',
      message: expect.stringContaining('checksum mismatch'),
    });
    expect((error as Error).message).toMatch(/^migration 002_b was modified after it was applied/);
    // Nothing else ran.
    expect(await tables(url)).toEqual(['_prisma_migrations', 'a', 'b']);
  });

  it('rolls back a failing migration, records nothing for it, and applies it once fixed', async () => {
    const { url } = await emptyDatabase('migrate_failure');
    const dir = await migrationsDir({
      '001_ok': 'CREATE TABLE ok (id int);',
      '002_bad': 'CREATE TABLE half (id int); INSERT INTO ok VALUES (1); SELECT 1 / 0;',
      '003_after': 'CREATE TABLE after (id int);',
    });

    await expect(migrate(url, { migrationsDir: dir })).rejects.toMatchObject({
      name: 'MigrationError',
      migration: '002_bad',
      message: 'migration 002_bad failed and was rolled back: division by zero',
    });
    expect(await tables(url)).toEqual(['_prisma_migrations', 'ok']);
    expect(await query(url, 'SELECT count(*)::int AS n FROM ok')).toEqual([{ n: 0 }]);
    expect(await recorded(url)).toEqual(['001_ok']);

    await writeMigration(dir, '002_bad', 'CREATE TABLE half (id int);');
    expect(await migrate(url, { migrationsDir: dir })).toEqual(['002_bad', '003_after']);
  });

  it('refuses to run past a migration Prisma recorded as failed, and ignores rolled-back rows', async () => {
    const { url } = await emptyDatabase('migrate_failed_row');
    const dir = await migrationsDir({ '001_a': 'CREATE TABLE a (id int);' });
    await migrate(url, { migrationsDir: dir });
    // What `prisma migrate deploy` leaves after a failure: a started, unfinished row.
    await query(
      url,
      `INSERT INTO _prisma_migrations (id, checksum, migration_name, logs)
       VALUES ('00000000-0000-4000-8000-000000000001', 'x', '002_b', 'boom')`,
    );
    await writeMigration(dir, '002_b', 'CREATE TABLE b (id int);');

    await expect(migrate(url, { migrationsDir: dir })).rejects.toMatchObject({
      migration: '002_b',
      message: expect.stringMatching(/^migration 002_b failed earlier/),
    });

    // After `prisma migrate resolve --rolled-back 002_b` it is applied again.
    await query(url, `UPDATE _prisma_migrations SET rolled_back_at = now() WHERE migration_name = '002_b'`);
    expect(await migrate(url, { migrationsDir: dir })).toEqual(['002_b']);
  });

  it('warns about applied migrations it does not have (a newer release migrated)', async () => {
    const { url } = await emptyDatabase('migrate_unknown');
    const dir = await migrationsDir({
      '001_a': 'CREATE TABLE a (id int);',
      '002_b': 'CREATE TABLE b (id int);',
    });
    await migrate(url, { migrationsDir: dir });
    await rm(join(dir, '002_b'), { recursive: true });

    const lines: string[] = [];
    expect(await migrate(url, { migrationsDir: dir, log: (line) => lines.push(line) })).toEqual([]);
    expect(lines).toEqual([`warning: 002_b is applied but not in ${dir}`]);
  });

  it('fails before connecting when the folder is missing or a migration has no script', async () => {
    const dir = await migrationsDir({});
    const unreachable = 'postgresql://postgres@127.0.0.1:1/none';
    await expect(migrate(unreachable, { migrationsDir: join(dir, 'nope') })).rejects.toThrow(
      `migrations folder not found: ${join(dir, 'nope')}`,
    );
    await mkdir(join(dir, '001_empty'));
    await expect(migrate(unreachable, { migrationsDir: dir })).rejects.toThrow(
      /^migration 001_empty has no migration.sql/,
    );
  });

  it('refuses migrations whose migration_lock.toml names another database', async () => {
    const dir = await migrationsDir({ '001_a': 'CREATE TABLE a (id int);' });
    await writeFile(join(dir, 'migration_lock.toml'), 'provider = "sqlite"\n');
    await expect(migrate('postgresql://postgres@127.0.0.1:1/none', { migrationsDir: dir })).rejects.toThrow(
      `${join(dir, 'migration_lock.toml')} is for sqlite, not postgresql`,
    );
  });
});
