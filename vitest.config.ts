import { defineConfig } from 'vitest/config';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
// @ts-expect-error plain ES module without types (shared with scripts/build.mjs)
import { viteDecoratorMetadata } from './scripts/decorator-metadata.mjs';

const libsDir = fileURLToPath(new URL('./libs', import.meta.url));
// Every library is importable as @fl/<folder>, as in tsconfig.json's paths.
const alias = Object.fromEntries(
  readdirSync(libsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => [`@fl/${d.name}`, `${libsDir}/${d.name}/src`]),
);

/**
 * Spec files that assert latency or memory bounds while the api works (bombs, validation off the
 * event loop). `npm test` (scripts/test.mjs) runs them in a second pass, one file at a time, so
 * that no other test file competes for the cores while they measure.
 */
export const TIMING_SPECS = [
  'test/security/**/*.spec.ts',
  'test/api/upload-validation.spec.ts',
  'test/api/annotations-limits.spec.ts',
  'test/api/bundle-import.spec.ts',
  'test/api/bundle-import-latency.spec.ts',
  // The whole platform and a browser: run alone, so that polling waits are not starved of CPU.
  'test/browser/**/*.spec.ts',
];
const ALL_SPECS = ['libs/**/*.spec.ts', 'apps/**/*.spec.ts', 'test/**/*.spec.ts'];
// SCP_TEST_PHASE: unset (a plain `vitest run`) runs everything together.
const phase = process.env.SCP_TEST_PHASE;

export default defineConfig({
  plugins: [viteDecoratorMetadata()],
  resolve: { alias },
  esbuild: { keepNames: true },
  test: {
    include: phase === 'timing' ? TIMING_SPECS : ALL_SPECS,
    exclude: phase === 'parallel' ? [...TIMING_SPECS, '**/node_modules/**'] : ['**/node_modules/**'],
    fileParallelism: phase !== 'timing',
    testTimeout: 60_000,
    // expect.poll's default of 1 s is less than a certify or an upload takes on a loaded 2-core
    // machine; a poll that succeeds returns at once, so only a failing one waits longer.
    expect: { poll: { timeout: 10_000 } },
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
