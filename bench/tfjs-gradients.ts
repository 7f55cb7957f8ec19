/**
 * Registers tfjs's own gradient definitions, so that `tf.train` optimisers can differentiate the
 * baselines' objectives. tfjs-core's Node build (`tf-core.node.js`, what `@tensorflow/tfjs-core`
 * resolves to here) ships no gradients: the `@tensorflow/tfjs` union package or tfjs-node would
 * register them, and neither is installed. The definitions are in tfjs-core's ES-module files
 * (`dist/register_all_gradients.js` and `dist/gradients/*`), which Node cannot load as they are
 * (extensionless imports in a CommonJS package), so scripts/build.mjs bundles this one import
 * into dist/bench/hard-bench.js (Vitest transforms it itself). The bundled ops find the running
 * engine and registries through tfjs's globals, as tfjs arranges for several copies of its core.
 */
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
