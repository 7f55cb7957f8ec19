import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@fl/engine';
import { InputError, type ExpressionMatrix } from '@fl/formats';
import { annotateMatrix } from './annotate';
import { trainFederatedModel, type ReferenceDataset } from './train-federated-model';
import {
  DISPERSION_CLIP,
  dispersionFixedPoint,
  geneDispersions,
  keepGenes,
  sumDispersionsPlain,
  sumDispersionsSecure,
  topGenes,
} from './variable-genes';

const info = (names: string[]) =>
  names.map((name, index) => ({ index, name, numExamples: 3, types: ['x'], typeCounts: [3] }));

describe('gene dispersions', () => {
  it('is the sample variance over the mean, per gene (worked by hand)', () => {
    // 3 cells x 3 genes, row-major. Gene 0: 1, 2, 3 (mean 2, variance 1); gene 1: never seen;
    // gene 2: 0, 0, 6 (mean 2, variance ((2^2 + 2^2 + 4^2) / 2) = 12).
    const values = Float32Array.from([1, 0, 0, 2, 0, 0, 3, 0, 6]);
    expect(Array.from(geneDispersions(values, 3, 3))).toEqual([0.5, 0, 6]);
  });

  it('is 0 for every gene of a single cell (no variance to measure)', () => {
    expect(Array.from(geneDispersions(Float32Array.from([4, 0, 2]), 1, 3))).toEqual([0, 0, 0]);
  });
});

describe('summing dispersions over institutions', () => {
  it('adds fixed-point integers: scale floor((2^31 - 1 - K) / (clip K)), values clipped to the range', () => {
    const scale = Math.floor((2 ** 31 - 1 - 2) / (DISPERSION_CLIP * 2));
    expect(dispersionFixedPoint(2).scale).toBe(scale);
    const summed = sumDispersionsPlain([Float32Array.from([0.5, 0, 6]), Float32Array.from([1.5, 2, 1000])]);
    expect(Array.from(summed)).toEqual([
      Math.floor(0.5 * scale + 0.5) + Math.floor(1.5 * scale + 0.5),
      Math.floor(2 * scale + 0.5),
      Math.floor(6 * scale + 0.5) + DISPERSION_CLIP * scale,
    ]);
  });

  it('gives secure aggregation the same integers as the clear sum, so both choose the same genes', async () => {
    let s = 7;
    const rand = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const dispersions = [0, 1, 2].map(() => Float32Array.from({ length: 301 }, () => rand() * 20));
    const secure = await sumDispersionsSecure(info(['lab-a', 'lab-b', 'lab-c']), dispersions, {});
    expect(Array.from(secure)).toEqual(Array.from(sumDispersionsPlain(dispersions)));
  });
});

describe(topGenes.name, () => {
  it('keeps the largest sums, the earlier gene on a tie, in the model gene order', () => {
    const summed = Int32Array.from([5, 9, 1, 9, 7, 0]);
    expect(topGenes(summed, 3)).toEqual([1, 3, 4]);
    expect(topGenes(summed, 2)).toEqual([1, 3]);
    expect(topGenes(Int32Array.from([3, 3, 3]), 2)).toEqual([0, 1]);
    expect(topGenes(summed, 6)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(topGenes(summed, 60)).toEqual([0, 1, 2, 3, 4, 5]);
  });
});

describe(keepGenes.name, () => {
  it("keeps each cell's chosen columns", () => {
    const data = {
      name: 'a',
      nCells: 2,
      values: Float32Array.from([1, 2, 3, 4, 5, 6]),
      labels: { types: ['x'], codes: Int32Array.from([0, 0]), counts: [2] },
    };
    expect(Array.from(keepGenes(data as never, 3, [0, 2]).values)).toEqual([1, 3, 4, 6]);
  });
});

/**
 * Institutions whose first 40 genes mark one of 4 types (2 + noise in its cells, noise elsewhere:
 * dispersion about 2-3) and whose last 20 genes are flat (1 + small noise: dispersion near 0).
 */
function institution(name: string, perType: number, seed: number): ReferenceDataset {
  let s = seed;
  const rand = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const genes = Array.from({ length: 60 }, (_, g) => (g < 40 ? `MARK${g}` : `FLAT${g}`));
  const types = ['alpha', 'beta', 'gamma', 'delta'];
  const cellIds: string[] = [];
  const labels: string[] = [];
  const rows: number[] = [];
  types.forEach((type, t) => {
    for (let c = 0; c < perType; c++) {
      cellIds.push(`${name}_${type}_${c}`);
      labels.push(type);
      genes.forEach((_, g) => rows.push(g < 40 ? (g % 4 === t ? 2 : 0) + rand() * 0.3 : 1 + rand() * 0.05));
    }
  });
  const matrix: ExpressionMatrix = {
    source: `${name}.csv`,
    cellIds,
    genes,
    labels,
    values: Float32Array.from(rows),
  };
  return { name, matrix };
}

describe('training on the most variable genes', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });
  const references = () => [
    institution('lab-a', 6, 1),
    institution('lab-b', 5, 2),
    institution('lab-c', 4, 3),
  ];
  const small = { rounds: 20, hiddenSize: 16, embeddingSize: 4, learningRate: 0.01, seed: 3 };

  it('trains on the chosen number of genes: every marker gene, the flat ones dropped first', async () => {
    const trained = await trainFederatedModel(references(), { ...small, variableGenes: 50 });
    expect(trained.model.genes).toHaveLength(50);
    expect(trained.model.shape.inputSize).toBe(50);
    expect(trained.model.genes.filter((g) => g.startsWith('mark'))).toHaveLength(40);
    expect(trained.options.variableGenes).toBe(50);
    // The model annotates a query on its own genes (the query's others are dropped).
    const query = institution('query', 3, 9).matrix;
    const annotation = await annotateMatrix(trained.model, { ...query, labels: undefined });
    expect(annotation.labels).toEqual(query.labels);
  });

  it('chooses the same genes with secure aggregation on as in the clear', async () => {
    const clear = await trainFederatedModel(references(), { ...small, rounds: 2, variableGenes: 50 });
    const secure = await trainFederatedModel(references(), {
      ...small,
      rounds: 2,
      variableGenes: 50,
      secureAggregation: {},
    });
    expect(secure.options.aggregation).toBe('secagg-fedavg-uniform');
    expect(secure.model.genes).toEqual(clear.model.genes);
  });

  it('keeps every gene at 0 or at a count above the union, and records nothing then', async () => {
    const all = await trainFederatedModel(references(), { ...small, rounds: 1, variableGenes: 0 });
    expect(all.model.genes).toHaveLength(60);
    expect(all.options).not.toHaveProperty('variableGenes');
    const more = await trainFederatedModel(references(), { ...small, rounds: 1, variableGenes: 500 });
    expect(more.model.genes).toEqual(all.model.genes);
  });

  it('refuses a count below 50 genes, naming the field', async () => {
    await expect(trainFederatedModel(references(), { ...small, variableGenes: 20 })).rejects.toThrow(
      InputError,
    );
    await expect(trainFederatedModel(references(), { ...small, variableGenes: 20 })).rejects.toThrow(
      /variableGenes must be 0 \(every gene\) or a whole number of at least 50 genes, got 20/,
    );
  });
});
