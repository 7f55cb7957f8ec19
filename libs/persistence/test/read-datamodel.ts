import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Datamodel } from './dmmf';

const GENERATOR = fileURLToPath(new URL('./dmmf-generator.mjs', import.meta.url));
const PRISMA_CLI = join(
  dirname(createRequire(import.meta.url).resolve('prisma/package.json')),
  'build/index.js',
);

/**
 * Parses a Prisma schema with Prisma's own parser. Prisma 7 exports no getDMMF (its wasm
 * parser is bundled inside the CLI), but `prisma generate` hands the DMMF to every generator,
 * offline: a copy of the schema with dmmf-generator.mjs as its only generator gets it out.
 * Takes the schema's text, so tests can parse altered copies too.
 */
export async function readDatamodel(schema: string): Promise<Datamodel> {
  if (/\s/.test(GENERATOR)) throw new Error(`the generator path must not contain spaces: ${GENERATOR}`);
  const dir = await mkdtemp(join(tmpdir(), 'scp-dmmf-'));
  try {
    const generator = `generator dmmf {\n  provider = "node ${GENERATOR}"\n  output   = "${join(dir, 'out')}"\n}`;
    await writeFile(join(dir, 'schema.prisma'), schema.replace(/generator\s+\w+\s*\{[^}]*\}/g, generator));
    const out = join(dir, 'datamodel.json');
    await promisify(execFile)(
      process.execPath,
      [PRISMA_CLI, 'generate', '--schema', join(dir, 'schema.prisma')],
      {
        cwd: dir,
        env: {
          ...process.env,
          DMMF_OUT: out,
          // generate never runs the schema engine, but the CLI wants one to exist (scripts/build.mjs).
          PRISMA_SCHEMA_ENGINE_BINARY: process.execPath,
          PRISMA_HIDE_UPDATE_MESSAGE: '1',
        },
      },
    );
    return JSON.parse(await readFile(out, 'utf8')) as Datamodel;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
