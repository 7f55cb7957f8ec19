/**
 * `bench:hard --softmax-head C,...`: a probe of issue 11's "federated softmax head on the
 * embedding". After a run, a multinomial logistic regression is trained on the references'
 * embeddings (each model of an ensemble its own) and the query is labelled by the averaged
 * probabilities. The head is trained on the pooled embeddings: a federation that sums each
 * institution's full-batch gradient every round (secure aggregation sums element by element)
 * takes the same Adam steps, so the pooled fit is what such a head would reach, without its rounds.
 *
 * The embeddings are centred and scaled per cell as the landmarks' Pearson correlation sees them
 * (unit norm, times sqrt(E) so a coordinate is of order 1 and C means what it does on genes).
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, standardise } from '@fl/engine';
import type { ExpressionMatrix } from '@fl/formats';
import { embedCells, geneMapping, type FederatedModel, type ReferenceDataset } from '@fl/federation';
import { trainLogisticRegression } from './baselines';

/** Rows of `e` values, each centred and scaled to norm sqrt(e) (a row without variance: zeros). */
export function pearsonRows(embeddings: Float32Array, nCells: number, e: number): Float32Array {
  const unit = new Float64Array(e);
  const out = new Float32Array(nCells * e);
  const scale = Math.sqrt(e);
  for (let c = 0; c < nCells; c++) {
    if (!standardise(embeddings, c * e, e, unit, 0)) continue;
    for (let k = 0; k < e; k++) out[c * e + k] = unit[k] * scale;
  }
  return out;
}

async function embedRows(params: Float32Array, model: FederatedModel, matrix: ExpressionMatrix) {
  const n = matrix.cellIds.length;
  const mapping = geneMapping(matrix.genes, model.genes);
  const e = model.shape.embeddingSize;
  return pearsonRows(await embedCells(params, model.shape, matrix.values, n, mapping, { threads: 1 }), n, e);
}

/** Query labels from a softmax head per model, for each regularisation strength C (in `cs` order). */
export async function softmaxHeadLabels(
  model: FederatedModel,
  references: readonly ReferenceDataset[],
  query: ExpressionMatrix,
  cs: readonly number[],
): Promise<string[][]> {
  await initBackend();
  const e = model.shape.embeddingSize;
  const nQuery = query.cellIds.length;
  const labels = references.flatMap((r) => r.matrix.labels!);
  const members = [model.params, ...(model.ensemble ?? []).map((m) => m.params)];
  const embedded = [];
  for (const params of members) {
    const train = new Float32Array(labels.length * e);
    let at = 0;
    for (const r of references) {
      const rows = await embedRows(params, model, r.matrix);
      train.set(rows, at);
      at += rows.length;
    }
    embedded.push({ train, query: await embedRows(params, model, query) });
  }
  const out: string[][] = [];
  for (const C of cs) {
    let types: string[] = [];
    let summed: Float32Array | undefined;
    for (const m of embedded) {
      const head = await trainLogisticRegression(
        { values: m.train, nCells: labels.length, nGenes: e, labels },
        { C },
      );
      types = head.types;
      const probabilities = tf.tidy(() => {
        const logits = tf.add(
          tf.matMul(tf.tensor2d(m.query, [nQuery, e]), tf.tensor2d(head.weights, [e, types.length])),
          tf.tensor1d(head.bias),
        );
        return tf.softmax(logits).dataSync() as Float32Array;
      });
      summed ??= new Float32Array(probabilities.length);
      for (let i = 0; i < probabilities.length; i++) summed[i] += probabilities[i];
    }
    const k = types.length;
    out.push(
      Array.from({ length: nQuery }, (_, c) => {
        let best = 0;
        for (let t = 1; t < k; t++) if (summed![c * k + t] > summed![c * k + best]) best = t;
        return types[best];
      }),
    );
  }
  return out;
}
