/**
 * The images' build context and Dockerfiles, read without building anything (fast):
 *   - the dockerignore matcher follows Docker's documented rules (the image-build test trusts it);
 *   - the context of this checkout is the context of a clean clone: whatever git ignores here
 *     (node_modules, dist, generated code) is left out of the context too;
 *   - the GPU image takes the same files as the CPU image and builds them the same way.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { buildStage, parseDockerfile, runtimeStage } from './image-dockerfile';
import { contextFiles, isExcluded, parseDockerignore } from './image-dockerignore';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

function excludedBy(ignoreFile: string, paths: string[]): string[] {
  const rules = parseDockerignore(ignoreFile);
  return paths.filter((p) => isExcluded(rules, p));
}

describe('dockerignore rules (the examples of Docker\'s ".dockerignore file" documentation)', () => {
  it('anchors every pattern at the context root, `*` and `?` within one directory', () => {
    const ignore = '# comment\n*/temp*\n*/*/temp*\ntemp?\n';
    const paths = [
      'somedir/temporary.txt',
      'somedir/temp',
      'somedir/subdir/temporary.txt',
      'tempa',
      'temporary.txt',
      'temp',
      'a/b/c/temp',
      '# comment',
    ];
    expect(excludedBy(ignore, paths)).toEqual([
      'somedir/temporary.txt',
      'somedir/temp',
      'somedir/subdir/temporary.txt',
      'tempa',
    ]);
  });

  it('lets `**` match any number of directories, none included', () => {
    const paths = ['main.go', 'a/b/c.go', 'a/go', 'node_modules/x/y.js', 'libs/q/node_modules/z', 'x.gox'];
    expect(excludedBy('**/*.go\n**/node_modules', paths)).toEqual([
      'main.go',
      'a/b/c.go',
      'node_modules/x/y.js',
      'libs/q/node_modules/z',
    ]);
  });

  it('excludes a directory with everything in it, and only at the root', () => {
    const paths = ['test', 'test/support/x.ts', 'libs/p/test/x.ts', 'tests/x.ts', 'foo/bar/baz', 'foo/barn'];
    expect(excludedBy('test\n/foo/bar/\n', paths)).toEqual(['test', 'test/support/x.ts', 'foo/bar/baz']);
  });

  it('cleans patterns like Go (`./a/../b/` is `b`) and treats dot files like any other', () => {
    expect(excludedBy('./a/../b/\n.env.*\n*.log', ['b/x', 'a/b', '.env.local', '.env', '.x.log'])).toEqual([
      'b/x',
      '.env.local',
      '.x.log',
    ]);
  });

  it('lets the last matching line decide between exclusion and exception', () => {
    const paths = ['CHANGES.md', 'README.md', 'README-secret.md', 'README-x.md', 'docs/x.md'];
    expect(excludedBy('*.md\n!README.md', paths)).toEqual(['CHANGES.md', 'README-secret.md', 'README-x.md']);
    expect(excludedBy('*.md\n!README*.md\nREADME-secret.md', paths)).toEqual([
      'CHANGES.md',
      'README-secret.md',
    ]);
    expect(excludedBy('*.md\nREADME-secret.md\n!README*.md', paths)).toEqual(['CHANGES.md']);
  });

  it('refuses an exception with no pattern, naming the line', () => {
    expect(() => parseDockerignore('dist\n!\n', 'x.dockerignore')).toThrow(
      'x.dockerignore:2: "!" with no pattern',
    );
  });

  describe('walking a tree', () => {
    const dir = mkdtempSync(join(tmpdir(), 'scp-image-context-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('skips excluded directories but brings back an exception inside one', () => {
      for (const file of ['a.txt', 'test/keep.txt', 'test/drop.txt', 'node_modules/m/i.js', 'src/x.log']) {
        mkdirSync(dirname(join(dir, file)), { recursive: true });
        writeFileSync(join(dir, file), file);
      }
      // `*.log` is anchored at the root: src/x.log stays.
      expect(contextFiles(dir, parseDockerignore('test\n**/node_modules\n*.log'))).toEqual([
        'a.txt',
        'src/x.log',
      ]);
      expect(contextFiles(dir, parseDockerignore('test\n**/node_modules\n**/*.log\n!test/keep.txt'))).toEqual(
        ['a.txt', 'test/keep.txt'],
      );
    });
  });
});

describe('the build context of this checkout', () => {
  const rules = parseDockerignore(read('docker/Dockerfile.dockerignore'), 'docker/Dockerfile.dockerignore');

  it('leaves out everything git ignores, so it is the context of a clean clone', () => {
    const ignored = execFileSync(
      'git',
      ['-C', ROOT, 'ls-files', '--others', '--ignored', '--exclude-standard', '--directory'],
      { encoding: 'utf8' },
    )
      .split('\n')
      .filter(Boolean)
      .map((p) => p.replace(/\/$/, ''));
    expect(ignored.filter((p) => !isExcluded(rules, p))).toEqual([]);
  });

  it('holds the sources, the lockfile and the build script, and no tests, charts or Dockerfiles', () => {
    const files = contextFiles(ROOT, rules);
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'package-lock.json',
        'scripts/build.mjs',
        'prisma/schema.prisma',
      ]),
    );
    expect(files.filter((f) => /^(test|helm|docker|dist|node_modules)\//.test(f))).toEqual([]);
  });
});

describe('the GPU image against the CPU image', () => {
  const cpu = parseDockerfile(read('docker/Dockerfile'), 'docker/Dockerfile');
  const gpu = parseDockerfile(read('docker/Dockerfile.gpu'), 'docker/Dockerfile.gpu');
  const patterns = (file: string) =>
    read(file)
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.startsWith('#'));

  it('has the same ignore file but for its comments (both say "keep in sync")', () => {
    expect(read('docker/Dockerfile.gpu.dockerignore')).toMatch(
      /Keep in sync with[\s#]+Dockerfile\.dockerignore/,
    );
    expect(patterns('docker/Dockerfile.gpu.dockerignore')).toEqual(
      patterns('docker/Dockerfile.dockerignore'),
    );
  });

  it('copies the same files from its build stage into the runtime stage', () => {
    expect(runtimeStage(gpu).copies).toEqual(runtimeStage(cpu).copies);
  });

  it('runs every build command of the CPU image (then adds the GPU backend)', () => {
    const cpuCommands = buildStage(cpu, runtimeStage(cpu).from).commands;
    const gpuCommands = buildStage(gpu, runtimeStage(gpu).from).commands;
    expect(cpuCommands.length).toBeGreaterThan(0);
    for (const command of cpuCommands) {
      expect(
        gpuCommands.some((c) => c.startsWith(command)),
        command,
      ).toBe(true);
    }
  });
});
