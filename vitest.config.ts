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

export default defineConfig({
  plugins: [viteDecoratorMetadata()],
  resolve: { alias },
  esbuild: { keepNames: true },
  test: {
    include: ['libs/**/*.spec.ts', 'apps/**/*.spec.ts', 'test/**/*.spec.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
