// Bundles the command line, its worker threads and the benchmark with esbuild.
// esbuild resolves the @fl/* tsconfig paths; every npm package stays external so
// tfjs-backend-wasm and h5wasm find their .wasm files inside node_modules.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';

const entryPoints = {
  'cli/main': 'apps/cli/src/main.ts',
  'cli/engine-worker': 'libs/federation/src/threads/engine-worker.ts',
  'bench/benchmark': 'bench/benchmark.ts',
  'bench/secagg-bench': 'libs/secure-agg/bench/secagg-bench.ts',
};
const present = Object.fromEntries(Object.entries(entryPoints).filter(([, file]) => existsSync(file)));

await build({
  entryPoints: present,
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
  banner: { js: '#!/usr/bin/env node' },
});
