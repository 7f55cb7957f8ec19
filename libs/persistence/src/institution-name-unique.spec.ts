import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmptyDatabase, type EmptyDatabase } from '../../../scripts/local-stack/postgres';
import { migrate } from './migrate';

const MIGRATIONS = fileURLToPath(new URL('../../../prisma/migrations', import.meta.url));
const INIT = '20261125000000_init';
const UNIQUE = '20261206110000_institution_name_unique';

/** A database migrated to the first migration only, as deployments before the fix have it. */
async function databaseBeforeTheIndex(label: string): Promise<{ db: EmptyDatabase; sql: pg.Client }> {
  const dir = await mkdtemp(join(tmpdir(), 'scp-migrations-'));
  try {
    await cp(join(MIGRATIONS, 'migration_lock.toml'), join(dir, 'migration_lock.toml'));
    await cp(join(MIGRATIONS, INIT), join(dir, INIT), { recursive: true });
    const db = await createEmptyDatabase(label);
    await migrate(db.url, { migrationsDir: dir });
    const sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    return { db, sql };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function addInstitution(sql: pg.Client, consortium: string, name: string): Promise<void> {
  await sql.query(
    `INSERT INTO "Consortium" (id, name, "caCertificatePem", "caKeySealed")
     VALUES ($1, $2, 'pem', '\\x00') ON CONFLICT (id) DO NOTHING`,
    [consortium, `consortium ${consortium}`],
  );
  await sql.query(
    `INSERT INTO "Institution" (id, "consortiumId", name, "displayName", "queueUser")
     VALUES (gen_random_uuid(), $1, $2, $2, 'worker-' || $2)`,
    [consortium, name],
  );
}

describe(`migration ${UNIQUE} on a database with institutions`, () => {
  let db: EmptyDatabase;
  let sql: pg.Client;
  const x = '00000000-0000-4000-8000-00000000000a';
  const y = '00000000-0000-4000-8000-00000000000b';

  beforeAll(async () => {
    ({ db, sql } = await databaseBeforeTheIndex('name_unique'));
  });
  afterAll(async () => {
    await sql?.end();
    await db?.drop();
  });

  it('stops, naming the names two consortia share, and changes nothing', async () => {
    await addInstitution(sql, x, 'shared');
    await addInstitution(sql, y, 'shared');
    await addInstitution(sql, x, 'alone');

    await expect(migrate(db.url, { migrationsDir: MIGRATIONS })).rejects.toThrow(
      /institution names used by more than one consortium: "shared" \(2 consortia\)\. .*keep one institution per name/,
    );
    const index = await sql.query(`SELECT 1 FROM pg_indexes WHERE indexname = 'Institution_name_key'`);
    expect(index.rowCount).toBe(0);
  });

  it('applies once the duplicates are resolved, and then refuses a second institution of a name', async () => {
    await sql.query(`DELETE FROM "Institution" WHERE name = 'shared' AND "consortiumId" = $1`, [y]);
    expect(await migrate(db.url, { migrationsDir: MIGRATIONS })).toContain(UNIQUE);
    await expect(addInstitution(sql, y, 'alone')).rejects.toThrow(/Institution_name_key/);
  });
});
