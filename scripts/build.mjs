// Bundles the command line, its worker threads and the benchmark with esbuild.
// esbuild resolves the @fl/* tsconfig paths; every npm package stays external so
// tfjs-backend-wasm and h5wasm find their .wasm files inside node_modules.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { decoratorMetadataPlugin } from './decorator-metadata.mjs';

const entryPoints = {
  'cli/main': 'apps/cli/src/main.ts',
  'cli/engine-worker': 'libs/federation/src/threads/engine-worker.ts',
  'bench/benchmark': 'bench/benchmark.ts',
  'bench/secagg-bench': 'libs/secure-agg/bench/secagg-bench.ts',
  'bench/stack-bench': 'bench/stack-bench.ts',
  'bench/sites-bench': 'bench/sites-bench.ts',
  'bench/hard-bench': 'bench/hard-bench.ts',
  'api/main': 'apps/api/src/main.ts',
  'api/annotation-job': 'apps/api/src/annotations/annotation-job.ts',
  'api/annotation-worker': 'apps/api/src/annotations/annotation-worker-main.ts',
  'api/validate-upload-worker': 'apps/api/src/validation/validate-upload-worker.ts',
  'aggregator/main': 'apps/aggregator/src/main.ts',
  'trainer-worker/main': 'apps/trainer-worker/src/main.ts',
  'stack/main': 'scripts/stack.ts',
  'stack/exit-with-parent': 'scripts/local-stack/exit-with-parent.ts',
  'db/migrate': 'libs/persistence/src/migrate-main.ts',
};
/**
 * tfjs-core's gradient definitions exist only as its ES-module files, which Node cannot load as
 * they are (bench/tfjs-gradients.ts says why); that one import is bundled, not left external.
 */
const bundleTfjsGradients = {
  name: 'bundle-tfjs-gradients',
  setup(b) {
    const require = createRequire(import.meta.url);
    b.onResolve({ filter: /^@tensorflow\/tfjs-core\/dist\/register_all_gradients\.js$/ }, (args) => ({
      path: require.resolve(args.path),
    }));
  },
};

const present = Object.fromEntries(Object.entries(entryPoints).filter(([, file]) => existsSync(file)));

// Prisma's client is generated offline: generation never runs the schema engine, but the
// command line insists that one exists, so any file will do (see docs/platform.md).
execFileSync('npx', ['prisma', 'generate'], {
  stdio: ['ignore', 'ignore', 'inherit'],
  env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.execPath, PRISMA_HIDE_UPDATE_MESSAGE: '1' },
});

// esbuild prints each error with its file and line (logLevel 'warning'); its stack trace would
// only bury them (an image build shows the end of the output).
await build({
  entryPoints: present,
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  // Nest and GraphQL name things after classes; esbuild's renaming (X -> X2) would leak into logs.
  keepNames: true,
  logLevel: 'warning',
  plugins: [decoratorMetadataPlugin, bundleTfjsGradients],
  banner: { js: '#!/usr/bin/env node' },
}).catch(() => process.exit(1));
