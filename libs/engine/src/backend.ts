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
    const failure = await tryBackend(preferred);
    if (failure !== undefined) {
      throw new Error(`initBackend: backend '${preferred}' is not available: ${failure}`);
    }
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
  return undefined;
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
