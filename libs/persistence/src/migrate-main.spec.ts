import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmptyDatabase, type EmptyDatabase } from '../../../scripts/local-stack/postgres';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
// Every migration the repository ships, in name order: a new migration does not break these tests.
const SHIPPED = readdirSync(join(ROOT, 'prisma/migrations'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The command as it ships: bundled by esbuild like scripts/build.mjs bundles it (ESM, npm
 * packages external, resolved from node_modules), run by node from the repository root.
 */
describe('node dist/db/migrate.js', () => {
  let dir: string;
  let database: EmptyDatabase;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'scp-migrate-cli-'));
    await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    [database] = await Promise.all([
      createEmptyDatabase('migrate_cli'),
      build({
        entryPoints: { migrate: join(ROOT, 'libs/persistence/src/migrate-main.ts') },
        outdir: dir,
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        packages: 'external',
        logLevel: 'warning',
      }),
    ]);
  });
  afterAll(async () => {
    await database?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function run(args: string[], env: Record<string, string | undefined>): Promise<Run> {
    const environment = { ...process.env, DATABASE_URL: undefined, MIGRATIONS_DIR: undefined, ...env };
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [join(dir, 'migrate.js'), ...args],
        { cwd: ROOT, env: environment },
        (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
      );
    });
  }

  it('prints its usage with --help', async () => {
    const result = await run(['--help'], {});
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/^Usage: node dist\/db\/migrate.js\n/);
    expect(result.stdout).toContain('DATABASE_URL');
  });

  it.each([
    [{}, 'error: DATABASE_URL is not set (postgresql://user:password@host:port/database)\n'],
    [
      { DATABASE_URL: 'not a url' },
      'error: DATABASE_URL is not a valid URL (postgresql://user:password@host:port/database)\n',
    ],
    [
      { DATABASE_URL: 'mysql://root@localhost/db' },
      'error: DATABASE_URL must be a postgresql:// URL, not mysql://\n',
    ],
  ])('exits 2 with one line when DATABASE_URL is unusable (%o)', async (env, message) => {
    expect(await run([], env)).toEqual({ code: 2, stdout: '', stderr: message });
  });

  it('exits 2 on an unknown argument', async () => {
    expect(await run(['--force'], {})).toEqual({
      code: 2,
      stdout: '',
      stderr: 'error: unexpected argument --force (see --help)\n',
    });
  });

  it('migrates, says what it applied, and then that the database is up to date', async () => {
    expect(await run([], { DATABASE_URL: database.url })).toEqual({
      code: 0,
      stdout: `${SHIPPED.map((name) => `applying ${name}\n`).join('')}applied ${SHIPPED.length} migration${SHIPPED.length === 1 ? '' : 's'}: ${SHIPPED.join(', ')}\n`,
      stderr: '',
    });
    expect(await run([], { DATABASE_URL: database.url })).toEqual({
      code: 0,
      stdout: `database is up to date (${join(ROOT, 'prisma/migrations')})\n`,
      stderr: '',
    });
  });

  it('exits 1 with one line when the database cannot be reached', async () => {
    const result = await run([], { DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/none' });
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: cannot migrate the database: connect ECONNREFUSED 127.0.0.1:1\n',
    });
  });
});
