/**
 * The CPU image (docker/Dockerfile), built without a container daemon (test/deploy/image-build.ts
 * replays it: the context its ignore file lets in, `npm ci`, the build, the checks, the prune,
 * then the runtime stage's COPY lines into a fresh tree). From that tree, as the image would:
 *   - each service's entry point, with an empty environment, stops at its configuration check
 *     (exit 2, one line naming a missing variable, no stack trace); the command line answers --help;
 *   - a trainer worker makes its key pair and CSR; the command line trains two rounds on
 *     examples/pbmc-mini with the WebAssembly backend (its .wasm files, worker threads) and annotates;
 *   - the migrations apply to a fresh Postgres database, and the api, given the full environment
 *     (that database, a private Redis, an object store nobody listens for), is alive and says the
 *     object store is what is missing.
 * When run as root, the tree's processes run as the image's USER, on files they cannot write (the
 * chart mounts the root filesystem read-only).
 * Slow: `npm ci` of ~800 packages from the npm cache is most of its ~2 minutes of CPU (2.5 to 3
 * minutes of wall time on a busy 2-core machine). It runs in `npm test`'s parallel pass: it
 * asserts no latency, so other files may share the machine with it.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmptyDatabase } from '../../scripts/local-stack/postgres';
import { startRedis } from '../../scripts/local-stack/processes';
import { hostPath, replayImageBuild, type Replay } from './image-build';
import { Scratch, type SpawnOptions } from './image-scratch';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MISSING_VARIABLE = /\b[A-Z][A-Z0-9_]{2,} is (required|not set)\b/;
const STACK_TRACE = /\n\s+at \S/;

describe('the CPU image, rebuilt without a container daemon (docker/Dockerfile)', () => {
  let scratch: Scratch;
  let replay: Replay;

  /** How the image runs a command: in /app, with the runtime stage's ENV, as its USER if we can. */
  const inImage = (extra: Record<string, string> = {}): SpawnOptions => {
    const asUser = process.getuid?.() === 0 ? replay.runtime.user : undefined;
    return {
      cwd: replay.runtimeDir,
      env: { PATH: hostPath(), ...replay.runtime.env, ...extra },
      ...(asUser ? { uid: asUser.uid, gid: asUser.gid } : {}),
    };
  };
  const node = (args: string[], extra?: Record<string, string>) =>
    scratch.run(process.execPath, args, inImage(extra), 60_000);

  beforeAll(async () => {
    scratch = new Scratch('scp-image-build');
    replay = await replayImageBuild(ROOT, 'docker/Dockerfile', scratch);
  }, 10 * 60_000);

  afterAll(async () => {
    await scratch?.close();
    if (replay) {
      const steps = replay.timings.map(([step, s]) => `  ${s.toFixed(1).padStart(6)} s  ${step}`);
      console.log(`image build replay (${replay.dockerfile}):\n${steps.join('\n')}`);
    }
  });

  it('builds with the npm the Dockerfile pins (same major version)', () => {
    const host = execFileSync('npm', ['--version'], {
      encoding: 'utf8',
      env: { ...process.env, PATH: hostPath() },
    });
    expect(replay.pinnedNpm, 'ARG NPM_VERSION').toMatch(/^\d+\./);
    expect(host.trim().split('.')[0]).toBe(replay.pinnedNpm!.split('.')[0]);
  });

  it('built from a context without tests, charts or Dockerfiles', () => {
    expect(replay.context.filter((f) => /^(test|helm|docker)\//.test(f))).toEqual([]);
    expect(existsSync(join(replay.buildDir, 'test'))).toBe(false);
  });

  it("gives the runtime tree the image's files, and the CMD's script", () => {
    for (const path of ['package.json', 'package-lock.json', 'node_modules', 'dist', 'prisma/migrations']) {
      expect(existsSync(join(replay.runtimeDir, path)), path).toBe(true);
    }
    expect(existsSync(join(replay.runtimeDir, 'apps/dashboard/public/index.html'))).toBe(true);
    expect(replay.runtime.cmd[0]).toBe('node');
    expect(existsSync(join(replay.runtimeDir, replay.runtime.cmd[1]))).toBe(true);
    // `npm prune --omit=dev` ran: the test tooling is not in the image.
    expect(existsSync(join(replay.runtimeDir, 'node_modules/vitest'))).toBe(false);
  });

  it.each([
    'dist/api/main.js',
    'dist/aggregator/main.js',
    'dist/trainer-worker/main.js',
    'dist/db/migrate.js',
  ])('%s with an empty environment stops at its configuration check', async (script) => {
    const result = await node([script]);
    expect(result.code, result.output).toBe(2);
    expect(result.stderr).toMatch(MISSING_VARIABLE);
    expect(result.output).not.toMatch(STACK_TRACE);
  });

  it('dist/cli/main.js --help answers', async () => {
    const result = await node(['dist/cli/main.js', '--help']);
    expect(result.code, result.output).toBe(0);
    expect(result.stdout).toMatch(/^Usage: scprivacy /);
  });

  /** A directory the image's user may write to (the chart's emptyDir or PVC). */
  const writableDir = (name: string): string => {
    const dir = join(scratch.dir, name);
    mkdirSync(dir);
    const user = inImage().uid === undefined ? undefined : replay.runtime.user;
    if (user) chownSync(dir, user.uid, user.gid);
    return dir;
  };

  it('makes a trainer worker key pair and CSR (dist/trainer-worker/main.js --init)', async () => {
    const state = writableDir('worker-state');
    const result = await node(['dist/trainer-worker/main.js', '--init'], {
      INSTITUTION: 'hospital-a',
      WORKER_REDIS_URL: 'redis://worker-hospital-a:unused@127.0.0.1:1',
      WORKER_STATE_DIR: state,
      WORKER_KEY_PASSPHRASE: 'a passphrase of some length',
    });
    expect(result.code, result.output).toBe(0);
    const csr = result.stdout.trim();
    expect(csr.startsWith(state)).toBe(true);
    expect(readFileSync(csr, 'utf8')).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----/);
  });

  it('trains and annotates examples/pbmc-mini with the WebAssembly backend (the embedded command line)', async () => {
    const out = writableDir('cli-out');
    const result = await node([
      ...['dist/cli/main.js', 'run', '--backend', 'wasm', '--rounds', '2'],
      ...['--train', 'examples/pbmc-mini/train', '--test', 'examples/pbmc-mini/test'],
      ...['--out', join(out, 'result.txt'), '--model-dir', join(out, 'model')],
    ]);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(/Annotated 210 cells/);
    expect(readFileSync(join(out, 'result.txt'), 'utf8').trim().split('\n')).toHaveLength(210);
  });

  describe('with Postgres and Redis', () => {
    it('applies the migrations to a fresh database, then serves /health/live', async () => {
      // Dropped and stopped by scratch.close() (afterAll), or on a signal.
      const database = await createEmptyDatabase('image_build');
      scratch.defer(() => database.drop());
      const migrated = await node(['dist/db/migrate.js'], { DATABASE_URL: database.url });
      expect(migrated.code, migrated.output).toBe(0);
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        const { rows } = await client.query(
          `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'`,
        );
        expect(rows[0].n).toBeGreaterThan(5);
      } finally {
        await client.end();
      }

      const redis = await startRedis(join(scratch.dir, 'redis'));
      scratch.defer(() => redis.stop());
      const api = scratch.start(
        process.execPath,
        ['dist/api/main.js'],
        inImage({
          DATABASE_URL: database.url,
          REDIS_URL: redis.url,
          // Nothing listens on port 1: the object store is down.
          S3_ENDPOINT: '127.0.0.1',
          S3_PORT: '1',
          S3_USE_SSL: 'false',
          S3_ACCESS_KEY: 'image-test',
          S3_SECRET_KEY: 'image-test-secret',
          S3_BUCKET: 'image-test',
          SCPRIVACY_MASTER_KEY: randomBytes(32).toString('hex'),
          PLATFORM_ADMIN_TOKEN: randomBytes(16).toString('hex'),
          API_HOST: '127.0.0.1',
          API_PORT: '0',
        }),
      );
      const [, url] = await api.waitFor(/listening on (http:\/\/\S+?)\/?\s/, 90_000);
      const base = url.replace('[::1]', '127.0.0.1');
      expect((await fetch(`${base}/health/live`)).status).toBe(200);
      const ready = await fetch(`${base}/health/ready`);
      expect(ready.status).toBe(503);
      const body = await ready.text();
      expect(body).toMatch(/object store/);
      expect(body).not.toMatch(/Postgres|Redis/);

      // Nest closes the app on SIGTERM, then re-raises the signal: it ends by SIGTERM, not by a crash.
      api.child.kill('SIGTERM');
      const stopped = await api.finished;
      expect(stopped.signal ?? stopped.code, stopped.output.slice(-3000)).toBe('SIGTERM');
      expect(stopped.output).not.toMatch(STACK_TRACE);
    }, 120_000);
  });
});
