/**
 * An image build replayed on the host, without a container daemon:
 *   1. the build context: the repository's files that <Dockerfile>.dockerignore lets in, copied
 *      to <scratch>/build (the build stage's /app);
 *   2. the build stage's RUN commands after its `COPY . .`, verbatim, with `sh -c` in that copy;
 *      npm's cache is the user's (~/.npm, as the Dockerfile's cache mount) and npm prefers it to
 *      the network; the environment is the stage's ARGs and ENVs plus PATH and HOME, with no
 *      node_modules/.bin of this checkout on PATH (the copy must find its own tools);
 *   3. the runtime stage's `COPY --from=build` lines, into a fresh <scratch>/runtime (hard links).
 * Not replayed: the stages' system set-up (apt-get, useradd, the global npm install: the host's
 * npm stands in for the pinned one and is checked to be of the same major version).
 */
import { lstatSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { buildStage, parseDockerfile, runtimeStage, type RuntimeStage } from './image-dockerfile';
import { copyContext, parseDockerignore } from './image-dockerignore';
import type { Scratch } from './image-scratch';

export interface Replay {
  dockerfile: string;
  /** The context's files, relative to the repository root. */
  context: string[];
  buildDir: string;
  runtimeDir: string;
  runtime: RuntimeStage;
  /** The npm version the Dockerfile pins (ARG NPM_VERSION). */
  pinnedNpm: string | undefined;
  /** Each step and its seconds. */
  timings: [string, number][];
}

/** PATH without any node_modules/.bin (under `npm test` this checkout's comes first). */
export function hostPath(): string {
  return (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin')
    .split(':')
    .filter((dir) => dir !== '' && !dir.includes('node_modules'))
    .join(':');
}

function buildEnvironment(stageEnv: Record<string, string>): Record<string, string> {
  const passed = ['HOME', 'TMPDIR', 'npm_config_cache', 'npm_config_userconfig', 'npm_config_registry'];
  const env: Record<string, string> = { ...stageEnv, PATH: hostPath() };
  for (const key of passed) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return { ...env, npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false' };
}

const STEP_TIMEOUT_MS = 8 * 60_000;

async function timed<T>(timings: [string, number][], step: string, work: () => Promise<T> | T): Promise<T> {
  const start = performance.now();
  const result = await work();
  timings.push([step, (performance.now() - start) / 1000]);
  return result;
}

/** Replays `dockerfile` (relative to `root`) up to the runtime tree. */
export async function replayImageBuild(root: string, dockerfile: string, scratch: Scratch): Promise<Replay> {
  const parsed = parseDockerfile(readFileSync(join(root, dockerfile), 'utf8'), dockerfile);
  const ignoreFile = `${dockerfile}.dockerignore`;
  const rules = parseDockerignore(readFileSync(join(root, ignoreFile), 'utf8'), ignoreFile);
  const runtime = runtimeStage(parsed);
  const build = buildStage(parsed, runtime.from);
  const buildDir = join(scratch.dir, 'build');
  const runtimeDir = join(scratch.dir, 'runtime');
  const timings: [string, number][] = [];

  const context = await timed(timings, 'build context', () => copyContext(root, rules, buildDir));

  const env = buildEnvironment(build.env);
  for (const command of build.commands) {
    const label = `RUN ${command.replace(/\s+/g, ' ').slice(0, 60)}`;
    const result = await timed(timings, label, () =>
      scratch.run('sh', ['-c', command], { cwd: buildDir, env }, STEP_TIMEOUT_MS),
    );
    if (result.code !== 0) {
      throw new Error(
        `${dockerfile}: RUN ${command}\nfailed (exit ${result.code ?? result.signal}) in the build context:\n` +
          result.output.slice(-6000),
      );
    }
  }

  await timed(timings, 'runtime tree (COPY --from)', async () => {
    mkdirSync(runtimeDir, { mode: 0o755 });
    for (const copy of runtime.copies) {
      for (const source of copy.sources) {
        const from = join(buildDir, source);
        let directory: boolean;
        try {
          directory = lstatSync(from).isDirectory();
        } catch {
          throw new Error(
            `${dockerfile}: COPY --from=${runtime.from} /app/${source}: the build left no such path`,
          );
        }
        const to = join(runtimeDir, copy.dest, directory || !copy.destIsDirectory ? '' : basename(source));
        // A directory's contents are copied, not the directory itself (Docker's COPY).
        mkdirSync(directory ? to : dirname(to), { recursive: true });
        // Not execFileSync: a blocked event loop would starve the test runner's messages.
        // Hard links: the same files and metadata as a copy, without writing 600 MB again.
        const what = directory ? `${from}/.` : from;
        const copied = await scratch.run('cp', ['-a', '--link', what, to], {}, STEP_TIMEOUT_MS);
        if (copied.code !== 0) throw new Error(`cp -a ${from} ${to} failed:\n${copied.output}`);
      }
    }
  });

  return { dockerfile, context, buildDir, runtimeDir, runtime, pinnedNpm: build.env.NPM_VERSION, timings };
}
