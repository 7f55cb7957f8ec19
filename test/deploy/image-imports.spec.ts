/**
 * Runtime code never reaches into test/: the image's build context leaves test/ out, so an import
 * of test code from apps/, libs/, scripts/ or bench/ breaks `npm ci` (its prepare is the build) in
 * both images. Checked three ways, without the slow image replay:
 *   - esbuild bundles every runtime source file (static imports, and dynamic ones with a literal
 *     path), with the build's own plugin and path aliases; its metafile must list no file under
 *     test/, so the same build succeeds with test/ absent;
 *   - no string literal in runtime code is a relative path into test/ (a worker script, a file read
 *     with `join(import.meta.dirname, '../test/...')`, an import() esbuild cannot follow);
 *   - every entry point of scripts/build.mjs is runtime code.
 * Spec files (*.spec.ts) beside the code are tests themselves and are left out.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ES module without types (shared with scripts/build.mjs)
import { decoratorMetadataPlugin } from '../../scripts/decorator-metadata.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RUNTIME_DIRS = ['apps', 'libs', 'scripts', 'bench'];
const SOURCE = /\.(ts|mts|cts|js|mjs|cjs)$/;
// Generated at build time from prisma/schema.prisma, and reached through the imports anyway.
const GENERATED = 'libs/persistence/src/generated';

function runtimeFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && path !== GENERATED) walk(path);
      } else if (SOURCE.test(entry.name) && !/\.(spec\.ts|d\.ts)$/.test(entry.name)) {
        files.push(path);
      }
    }
  };
  RUNTIME_DIRS.forEach(walk);
  return files.sort();
}

const isUnderTest = (path: string) => path === 'test' || path.startsWith('test/');

describe('runtime code and test code', () => {
  const files = runtimeFiles();

  it('bundles every runtime file without taking in a file under test/', async () => {
    expect(files.length).toBeGreaterThan(100);
    const result = await build({
      stdin: {
        contents: files.map((f) => `import ${JSON.stringify(`./${f}`)};`).join('\n'),
        resolveDir: ROOT,
        loader: 'js',
      },
      absWorkingDir: ROOT,
      tsconfig: join(ROOT, 'tsconfig.json'),
      bundle: true,
      write: false,
      metafile: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      logLevel: 'silent',
      plugins: [decoratorMetadataPlugin],
    });
    const metafile: Metafile = result.metafile;
    const inputs = Object.keys(metafile.inputs);
    // The bundle really walked the code: the services' entry points and what they import.
    expect(inputs).toEqual(expect.arrayContaining(['apps/api/src/main.ts', 'libs/engine/src/index.ts']));
    const intoTest = Object.entries(metafile.inputs).flatMap(([importer, input]) =>
      input.imports
        .filter((i) => isUnderTest(i.path))
        .map((i) => `${importer} imports ${i.original ?? i.path}`),
    );
    expect(intoTest).toEqual([]);
  });

  it('names no path into test/ in a string (worker scripts, files read, dynamic imports)', () => {
    const found: string[] = [];
    for (const file of files) {
      const source = readFileSync(join(ROOT, file), 'utf8');
      // A relative path in quotes, or the start of a template literal up to its first ${...}.
      for (const match of source.matchAll(/(['"`])(\.\.?\/[^'"`$\n]*)(?:\1|\$\{)/g)) {
        const target = resolve(ROOT, dirname(file), match[2]);
        if (isUnderTest(relative(ROOT, target))) found.push(`${file}: ${match[0]}`);
      }
    }
    expect(found).toEqual([]);
  });

  it('builds only runtime code (the entry points of scripts/build.mjs)', () => {
    const script = readFileSync(join(ROOT, 'scripts/build.mjs'), 'utf8');
    const block = /const entryPoints = \{([^}]*)\}/.exec(script)?.[1] ?? '';
    const entries = [...block.matchAll(/:\s*'([^']+)'/g)].map((m) => m[1]);
    expect(entries).toEqual(
      expect.arrayContaining(['apps/api/src/main.ts', 'libs/persistence/src/migrate-main.ts']),
    );
    expect(entries.filter((e) => !RUNTIME_DIRS.some((dir) => e.startsWith(`${dir}/`)))).toEqual([]);
    expect(entries.filter((e) => !files.includes(e))).toEqual([]);
  });
});
