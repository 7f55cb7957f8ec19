import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const lib = (name: string) => fileURLToPath(new URL(`./libs/${name}/src`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: {
      '@fl/formats': lib('formats'),
      '@fl/preprocess': lib('preprocess'),
      '@fl/engine': lib('engine'),
      '@fl/federation': lib('federation'),
      '@fl/evaluation': lib('evaluation'),
      '@fl/secure-agg': lib('secure-agg'),
      '@fl/wasm-kit': lib('wasm-kit'),
    },
  },
  test: {
    include: ['libs/**/*.spec.ts', 'apps/**/*.spec.ts', 'test/**/*.spec.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
