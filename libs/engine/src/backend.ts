import * as tf from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';
import { dirname, sep } from 'node:path';

/** Backends in the order {@link initBackend} tries them. */
export const BACKEND_PREFERENCES = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendPreference = (typeof BACKEND_PREFERENCES)[number];

/** tfjs registry name of each preference (both native packages register `tensorflow`). */
const REGISTERED_NAME: Record<BackendPreference, string> = {
  'tensorflow-gpu': 'tensorflow',
  tensorflow: 'tensorflow',
  wasm: 'wasm',
  cpu: 'cpu',
};

/** Optional native packages; never installed by default, loaded only if present. */
const NATIVE_PACKAGE: Partial<Record<BackendPreference, string>> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
};

/**
 * A backend that was asked for by name cannot run here: its optional package is not
 * installed, or it is installed but does not load or initialise. A choice the caller (a
 * person, a config file) can change, so front ends report it as an input mistake: the
 * message says what to install, or which backends ship with the package.
 */
export class BackendUnavailableError extends Error {
  override name = 'BackendUnavailableError';
  constructor(
    message: string,
    readonly backend: BackendPreference,
    /** `npm install <package>` when the backend's package is simply missing. */
    readonly installCommand?: string,
  ) {
    super(message);
  }
}

let active: BackendPreference | undefined;
let queue: Promise<unknown> = Promise.resolve();
let wasmPathsSet = false;

/**
 * Selects the tfjs backend. Without `preferred`, tries in order `@tensorflow/tfjs-node-gpu`,
 * `@tensorflow/tfjs-node` (both optional: a missing package is skipped), the wasm backend
 * (SIMD, one thread in Node; its `.wasm` files are read from its own package folder) and the
 * plain `cpu` backend. With `preferred`, uses only that backend or throws.
 *
 * Idempotent: once a backend is set, later calls without `preferred` (or with the same one)
 * return it without re-initialising. Concurrent calls are serialised.
 *
 * @returns the name in use, `tf.getBackend()` (`'tensorflow'` for both native packages)
 */
export function initBackend(preferred?: BackendPreference): Promise<string> {
  const run = queue.then(() => selectBackend(preferred));
  queue = run.catch(() => undefined);
  return run;
}

async function selectBackend(preferred?: BackendPreference): Promise<string> {
  if (preferred !== undefined) {
    if (!BACKEND_PREFERENCES.includes(preferred)) {
      throw new Error(
        `initBackend: unknown backend '${String(preferred)}' (expected one of ${BACKEND_PREFERENCES.join(', ')})`,
      );
    }
    if (active === preferred && tf.getBackend() === REGISTERED_NAME[preferred]) return tf.getBackend();
    await checkBackendPackage(preferred);
    const failure = await tryBackend(preferred);
    if (failure !== undefined) throw unavailable(preferred, failure);
    active = preferred;
    return tf.getBackend();
  }
  if (active !== undefined && tf.getBackend() === REGISTERED_NAME[active]) return tf.getBackend();
  const failures: string[] = [];
  for (const candidate of BACKEND_PREFERENCES) {
    const failure = await tryBackend(candidate);
    if (failure === undefined) {
      active = candidate;
      return tf.getBackend();
    }
    failures.push(`${candidate}: ${failure}`);
  }
  throw new Error(`initBackend: no tfjs backend could be initialised (${failures.join('; ')})`);
}

/** Loads and sets one backend; returns why it failed, or undefined on success. */
async function tryBackend(candidate: BackendPreference): Promise<string | undefined> {
  try {
    await loadBackendPackage(candidate);
  } catch (err) {
    return `cannot load its package (${(err as Error).message.split('\n')[0]})`;
  }
  const name = REGISTERED_NAME[candidate];
  if (tf.findBackendFactory(name) == null) return `no '${name}' backend registered`;
  let ok = false;
  try {
    ok = await tf.setBackend(name);
    await tf.ready();
  } catch (err) {
    return `initialisation failed (${(err as Error).message})`;
  }
  if (!ok || tf.getBackend() !== name) return 'initialisation failed';
  if (name === 'cpu') silenceNodeBackendBanner();
  return undefined;
}

/**
 * Loads the package of a backend asked for by name, without selecting it, so a front end can
 * refuse a missing one before it reads any data or starts worker threads.
 * @throws BackendUnavailableError naming the package and the `npm install` command
 */
export async function checkBackendPackage(preferred: BackendPreference): Promise<void> {
  try {
    await loadBackendPackage(preferred);
  } catch (err) {
    const pkg = NATIVE_PACKAGE[preferred];
    const message = (err as Error).message.split('\n')[0];
    if (pkg !== undefined && isMissingPackage(err, pkg)) {
      const install = `npm install ${pkg}`;
      throw new BackendUnavailableError(
        `the '${preferred}' tensor backend needs the optional package ${pkg}, which is not installed: ` +
          `run \`${install}\`, or choose wasm or cpu, which ship with scPrivacy`,
        preferred,
        install,
      );
    }
    throw unavailable(preferred, `cannot load its package (${message})`);
  }
}

function unavailable(preferred: BackendPreference, why: string): BackendUnavailableError {
  const pkg = NATIVE_PACKAGE[preferred];
  return new BackendUnavailableError(
    `the '${preferred}' tensor backend is not available: ${why}` +
      (pkg ? ` (is ${pkg} installed for this platform? reinstall it with \`npm install ${pkg}\`)` : ''),
    preferred,
  );
}

/** The package itself is absent (not one of its own dependencies or its native library). */
function isMissingPackage(err: unknown, pkg: string): boolean {
  const e = err as NodeJS.ErrnoException;
  return (
    (e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'MODULE_NOT_FOUND') &&
    (e.message.includes(`'${pkg}'`) || e.message.includes(`"${pkg}"`))
  );
}

/**
 * The cpu backend prints "Hi, looks like you are running TensorFlow.js in Node.js..." through
 * tfjs's warn() on its first tensor. Here cpu is chosen on purpose (or as the last fallback,
 * which the caller reports), so that advice is noise in every run and test log. tfjs has no
 * switch for this one message; its IS_TEST flag silences warn(), so it is raised only while
 * the backend writes that first tensor, and every later warning still shows.
 */
function silenceNodeBackendBanner(): void {
  const env = tf.env();
  const wasTest = env.getBool('IS_TEST');
  env.set('IS_TEST', true);
  try {
    tf.scalar(0).dispose();
  } finally {
    env.set('IS_TEST', wasTest);
  }
}

async function loadBackendPackage(candidate: BackendPreference): Promise<void> {
  const nativePackage = NATIVE_PACKAGE[candidate];
  if (nativePackage !== undefined) {
    // A variable specifier: bundlers leave it alone, and a missing package rejects here.
    await import(/* @vite-ignore */ nativePackage);
  } else if (candidate === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    if (!wasmPathsSet) {
      wasmPathsSet = true;
      const dir = wasmBinaryDirectory();
      // Only needed when the package code itself is bundled away from its folder; harmless otherwise.
      if (dir !== undefined) {
        try {
          wasm.setWasmPaths(dir);
        } catch {
          // Already initialised by someone else: its own default paths are in use.
        }
      }
    }
  } else {
    await import('@tensorflow/tfjs-backend-cpu');
  }
}

/** Folder holding tfjs-backend-wasm's `.wasm` files (its `dist/`), with a trailing separator. */
function wasmBinaryDirectory(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    return dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + sep;
  } catch {
    return undefined;
  }
}
