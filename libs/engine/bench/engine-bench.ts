/**
 * Micro-benchmark of the engine: LocalTrainer.step (steps/s) and embed (cells/s) at F = 2,000
 * and 20,000 genes, H = 500, E = 20, n = 12 cell types; each figure the median of 3 runs.
 * Then embed by density of the rows (5%, 10%, 30%, 100% non-zero) at F = 2,000 and 20,000,
 * with the default choice of path per row (sparse kernel below `SPARSE_DENSITY_THRESHOLD`) and
 * with the dense product only. `node ... wasm embed` runs only these embedding figures.
 *
 *   npx esbuild libs/engine/bench/engine-bench.ts --bundle --platform=node --format=esm \
 *     --packages=external --outfile=node_modules/.cache/eb.mjs && node node_modules/.cache/eb.mjs [wasm|cpu]
 *
 * (Packages stay external, so the bundle must sit where `node_modules` resolves: an outfile in
 * /tmp fails with ERR_MODULE_NOT_FOUND unless /tmp/node_modules links to the project's.)
 *
 * Yardstick (ENGINE-NOTES.md, PyTorch + OpenBLAS on 2 cores): 68 steps/s and 86,000 cells/s at
 * F = 2,000; 3.95 steps/s and 7,960 cells/s at F = 20,000.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  adamStep,
  createAdamState,
  createRng,
  embed,
  initBackend,
  initParameters,
  LocalTrainer,
  SPARSE_DENSITY_THRESHOLD,
  type BackendPreference,
} from '@fl/engine';

const N_TYPES = 12;
const CELLS_PER_TYPE = 50;
const DENSITY = 0.1; // ~90% zeros, as in log-normalised scRNA-seq

/**
 * cells x F of log-normalised-looking values, 10% of them non-zero on average.
 * 'uniform': every gene detected with probability 10% (the worst case for skipping genes that
 * are zero in a whole batch: 1 - 0.9^24 = 92% of genes are active in a 24-cell batch).
 * 'skewed': as in real scRNA-seq, half the genes are almost never detected (0.4%) and the
 * other half often (19.6%); about half the genes are then active in a 24-cell batch.
 */
function syntheticValues(
  nCells: number,
  f: number,
  seed: number,
  profile: 'uniform' | 'skewed',
  density = DENSITY,
): Float32Array {
  const rng = createRng(seed);
  const values = new Float32Array(nCells * f);
  const threshold = (p: number) => (p >= 1 ? Infinity : Math.floor(p * 4294967296) - 2147483648);
  const rare = threshold(profile === 'uniform' ? density : 0.004);
  const common = threshold(profile === 'uniform' ? density : 2 * density - 0.004);
  for (let cell = 0; cell < nCells; cell++) {
    for (let g = 0; g < f; g++) {
      if (rng.next() < (g % 2 === 0 ? rare : common))
        values[cell * f + g] = Math.log1p(1 + ((rng.next() >>> 0) % 20));
    }
  }
  return values;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

function benchTraining(
  f: number,
  stepsPerRun: number,
  profile: 'uniform' | 'skewed',
): { stepsPerSecond: number; runs: number[] } {
  const shape = { inputSize: f, hiddenSize: 500, embeddingSize: 20 };
  const nCells = N_TYPES * CELLS_PER_TYPE;
  const values = syntheticValues(nCells, f, 1, profile);
  const labelCodes = Int32Array.from({ length: nCells }, (_, i) => i % N_TYPES);
  const trainer = new LocalTrainer({ shape, values, labelCodes, nTypes: N_TYPES, seed: 2 });
  const params = initParameters(shape, 3);
  for (let i = 0; i < 3; i++) trainer.step(params); // warm-up: JIT, wasm heap growth
  const tensorsBefore = tf.memory().numTensors;
  const runs: number[] = [];
  for (let r = 0; r < 3; r++) {
    const start = performance.now();
    for (let i = 0; i < stepsPerRun; i++) trainer.step(params);
    runs.push((1000 * stepsPerRun) / (performance.now() - start));
  }
  if (tf.memory().numTensors !== tensorsBefore) throw new Error('tensor leak in LocalTrainer.step');
  return { stepsPerSecond: median(runs), runs };
}

function benchAdam(f: number): number {
  const n = f * 500 + 500 + 500 * 20 + 20;
  const params = new Float32Array(n).fill(0.01);
  const grads = new Float32Array(n).fill(0.001);
  const state = createAdamState(n);
  adamStep(params, grads, state);
  const times: number[] = [];
  for (let r = 0; r < 3; r++) {
    const start = performance.now();
    adamStep(params, grads, state);
    times.push(performance.now() - start);
  }
  return median(times);
}

function benchEmbedding(
  f: number,
  nCells: number,
  density = DENSITY,
  sparseDensity = SPARSE_DENSITY_THRESHOLD,
): { cellsPerSecond: number; runs: number[] } {
  const shape = { inputSize: f, hiddenSize: 500, embeddingSize: 20 };
  const values = syntheticValues(nCells, f, 4, 'uniform', density);
  const params = initParameters(shape, 5);
  const warm = Math.min(nCells, 512);
  const options = { sparseDensity };
  embed(params, shape, values.subarray(0, warm * f), warm, undefined, options); // warm-up
  const runs: number[] = [];
  for (let r = 0; r < 3; r++) {
    const start = performance.now();
    embed(params, shape, values, nCells, undefined, options);
    runs.push((1000 * nCells) / (performance.now() - start));
  }
  return { cellsPerSecond: median(runs), runs };
}

const preferred = process.argv[2] as BackendPreference | undefined;
const backend = await initBackend(preferred);
console.log(`backend: ${backend}  (node ${process.version}, single thread)`);
const fmt = (x: number, digits = 1) => x.toFixed(digits);
const embedOnly = process.argv[3] === 'embed';
for (const [f, steps, embedCells] of embedOnly
  ? []
  : ([
      [2_000, 40, 20_000],
      [20_000, 5, 4_000],
    ] as const)) {
  const adamMs = benchAdam(f);
  for (const profile of ['uniform', 'skewed'] as const) {
    const training = benchTraining(f, steps, profile);
    console.log(
      `F=${f}: LocalTrainer.step, ${profile} sparsity: ${fmt(training.stepsPerSecond)} steps/s ` +
        `(runs ${training.runs.map((x) => fmt(x)).join(', ')}; ${fmt(1000 / training.stepsPerSecond)} ms/step)`,
    );
  }
  console.log(`F=${f}: fused Adam update alone: ${fmt(adamMs)} ms`);
  const embedding = benchEmbedding(f, embedCells);
  console.log(
    `F=${f}: embed ${fmt(embedding.cellsPerSecond, 0)} cells/s (runs ${embedding.runs.map((x) => fmt(x, 0)).join(', ')})`,
  );
}

for (const [f, nCells] of [
  [2_000, 20_000],
  [20_000, 2_000],
] as const) {
  for (const density of [0.05, 0.1, 0.3, 1]) {
    const figures = [SPARSE_DENSITY_THRESHOLD, 0].map((sparseDensity) => {
      const { cellsPerSecond, runs } = benchEmbedding(
        f,
        density === 1 ? nCells / 4 : nCells,
        density,
        sparseDensity,
      );
      return `${fmt(cellsPerSecond, 0)} cells/s (runs ${runs.map((x) => fmt(x, 0)).join(', ')})`;
    });
    console.log(
      `F=${f}: embed, ${fmt(100 * density, 0)}% non-zero: ${figures[0]}; dense product only: ${figures[1]}`,
    );
  }
}
