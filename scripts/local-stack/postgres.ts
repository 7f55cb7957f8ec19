import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createPrismaClient, migrate, type PrismaClient } from '@fl/persistence';

/**
 * Throw-away databases on the test Postgres (trust auth). Test files run in parallel
 * processes, so every database gets a unique name: label, process id, random suffix.
 */
const SERVER_URL = process.env.TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432';

export interface EmptyDatabase {
  name: string;
  url: string;
  /** Drops the database, closing any session still connected to it. */
  drop(): Promise<void>;
}

export interface TestDatabase extends EmptyDatabase {
  prisma: PrismaClient;
  /** Disconnects `prisma`, then drops the database. */
  drop(): Promise<void>;
}

function databaseUrl(name: string): string {
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function onServer<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl('postgres') });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A new database with nothing in it (for tests of the migration runner itself). */
export async function createEmptyDatabase(label: string): Promise<EmptyDatabase> {
  const slug = label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .slice(0, 30);
  // Identifiers stop at 63 bytes; the name is quoted, so only [a-z0-9_] keeps it simple.
  const name = `scp_test_${slug}_${process.pid}_${randomBytes(4).toString('hex')}`;
  await onServer((client) => client.query(`CREATE DATABASE "${name}"`));
  return {
    name,
    url: databaseUrl(name),
    drop: () =>
      onServer((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(
        () => undefined,
      ),
  };
}

/** A new database with every migration applied, and a Prisma client on it. */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const database = await createEmptyDatabase(label);
  try {
    await migrate(database.url);
  } catch (error) {
    await database.drop();
    throw error;
  }
  const prisma = createPrismaClient(database.url);
  return {
    ...database,
    prisma,
    async drop() {
      await prisma.$disconnect();
      await database.drop();
    },
  };
}
