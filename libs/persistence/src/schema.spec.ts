import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmptyDatabase, type EmptyDatabase } from '../../../scripts/local-stack/postgres';
import { actualShape } from '../test/actual-shape';
import { expectedShape } from '../test/expected-shape';
import { readDatamodel } from '../test/read-datamodel';
import { diffShapes, type SchemaShape } from '../test/schema-shape';
import { migrate } from './migrate';

const SCHEMA = fileURLToPath(new URL('../../../prisma/schema.prisma', import.meta.url));
const MIGRATIONS = fileURLToPath(new URL('../../../prisma/migrations', import.meta.url));
const INIT = '20261125000000_init';

describe('the migrations create exactly the schema of schema.prisma', () => {
  let schema: string;
  let expected: SchemaShape;
  let database: EmptyDatabase;
  let actual: SchemaShape;

  beforeAll(async () => {
    schema = await readFile(SCHEMA, 'utf8');
    [expected, database] = await Promise.all([
      readDatamodel(schema).then(expectedShape),
      createEmptyDatabase('schema'),
    ]);
    await migrate(database.url, { migrationsDir: MIGRATIONS });
    actual = await actualShape(database.url);
  });
  afterAll(() => database?.drop());

  it('has every model, field, enum, relation and index of the schema, and nothing else', () => {
    // The expectation covers the whole schema: 10 models, 5 enums, 14 relations, 18 indexes.
    const count = (kind: string) => [...expected.keys()].filter((key) => key.startsWith(`${kind} `)).length;
    expect([count('table'), count('enum'), count('foreign key'), count('index')]).toEqual([10, 5, 14, 18]);
    expect(diffShapes(expected, actual)).toEqual([]);
  });

  it('reports a migration that drifted from the schema', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'scp-migrations-'));
    const drifted = await createEmptyDatabase('schema_drift');
    try {
      await cp(MIGRATIONS, dir, { recursive: true });
      const file = join(dir, INIT, 'migration.sql');
      const edits: [string, string][] = [
        [`"label" TEXT NOT NULL DEFAULT ''`, `"label" TEXT DEFAULT ''`],
        [`"cells" INTEGER NOT NULL`, `"cells" BIGINT NOT NULL`],
        [`('queued', 'running', 'completed', 'failed')`, `('queued', 'running', 'completed')`],
        [`CREATE INDEX "Federation_status_idx" ON "Federation"("status");`, ''],
        [
          `REFERENCES "ModelVersion"("id") ON DELETE SET NULL`,
          `REFERENCES "ModelVersion"("id") ON DELETE CASCADE`,
        ],
      ];
      let sql = await readFile(file, 'utf8');
      for (const [from, to] of edits) {
        expect(sql).toContain(from);
        sql = sql.replace(from, to);
      }
      await writeFile(file, sql);
      await migrate(drifted.url, { migrationsDir: dir });

      expect(diffShapes(expected, await actualShape(drifted.url))).toEqual([
        "column AccessToken.label: expected text NOT NULL DEFAULT '', found text NULL DEFAULT ''",
        'column Dataset.cells: expected integer NOT NULL, found bigint NOT NULL',
        'enum JobStatus: expected queued, running, completed, failed, found queued, running, completed',
        'foreign key ModelVersion_parentId_fkey: expected ModelVersion(parentId) -> ModelVersion(id) ' +
          'ON DELETE SET NULL ON UPDATE CASCADE, found ModelVersion(parentId) -> ModelVersion(id) ' +
          'ON DELETE CASCADE ON UPDATE CASCADE',
        'missing index Federation_status_idx: Federation(status)',
      ]);
    } finally {
      await Promise.all([drifted.drop(), rm(dir, { recursive: true, force: true })]);
    }
  });

  it('reports a schema that drifted from the migrations', async () => {
    const drifted = schema.replace(
      /(model Consortium \{[^}]*?)\n\}/,
      '$1\n  slug String @unique @db.VarChar(40)\n\n  @@index([createdAt])\n}',
    );
    expect(drifted).not.toBe(schema);

    expect(diffShapes(expectedShape(await readDatamodel(drifted)), actual)).toEqual([
      'missing column Consortium.slug: character varying(40) NOT NULL',
      'missing index Consortium_createdAt_idx: Consortium(createdAt)',
      'missing index Consortium_slug_key: UNIQUE Consortium(slug)',
    ]);
  });
});
