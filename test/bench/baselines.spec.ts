import { describe, expect, it } from 'vitest';
import type { ExpressionMatrix } from '@fl/formats';
import {
  geneScaling,
  improving,
  poolReferences,
  predictLinear,
  predictNearestCentroid,
  standardiseRows,
  trainLogisticRegression,
  trainNearestCentroid,
  type LabelledRows,
} from '../../bench/baselines';

/** Box-Muller normals from a fixed linear congruential stream: the same blobs every run. */
function normals(count: number, seed: number): number[] {
  let state = seed;
  const uniform = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state + 0.5) / 4294967296;
  };
  return Array.from(
    { length: count },
    () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()),
  );
}

/** `perClass` cells around each centre (sd 0.3), labelled by the centre's name. */
function blobs(centres: Record<string, number[]>, perClass: number, seed: number): LabelledRows {
  const nGenes = Object.values(centres)[0].length;
  const noise = normals(Object.keys(centres).length * perClass * nGenes, seed);
  const values: number[] = [];
  const labels: string[] = [];
  let k = 0;
  for (const [label, centre] of Object.entries(centres)) {
    for (let c = 0; c < perClass; c++) {
      for (let g = 0; g < nGenes; g++) values.push(centre[g] + 0.3 * noise[k++]);
      labels.push(label);
    }
  }
  return { values: Float32Array.from(values), nCells: labels.length, nGenes, labels };
}

const TWO = { a: [0, 0, 0], b: [3, 3, 0] };
const THREE = { x: [4, 0, 0, 1], y: [0, 4, 0, 1], z: [0, 0, 4, 1] };

describe('pooled logistic regression (tfjs)', () => {
  it('separates two well-separated blobs and puts the boundary between them', async () => {
    const model = await trainLogisticRegression(blobs(TWO, 30, 1));
    expect(model.types).toEqual(['a', 'b']);
    const test = blobs(TWO, 20, 2);
    expect(await predictLinear(model, test)).toEqual(test.labels);
    // Points nearer a centre go to it; the midpoint's neighbours fall on either side.
    const probes = { values: Float32Array.from([0.5, 0.5, 0, 2.5, 2.5, 0]), nCells: 2, nGenes: 3 };
    expect(await predictLinear(model, probes)).toEqual(['a', 'b']);
  });

  it('labels every cell of a 3-class case and is deterministic', async () => {
    const train = blobs(THREE, 25, 3);
    const first = await trainLogisticRegression(train);
    const second = await trainLogisticRegression(train);
    expect(first.weights).toEqual(second.weights);
    const test = blobs(THREE, 15, 4);
    expect(await predictLinear(first, test)).toEqual(test.labels);
  });

  it('reaches the optimum of the penalised objective, known by hand on two points', async () => {
    // x = -1 (a) and x = +1 (b), C = 1, n = 2: by symmetry W = [-u, u] and bias 0, and the objective
    // log(1 + e^(-2u)) + u^2 / 2 is smallest where u = 2 / (1 + e^(2u)) (u = 0.5213...).
    let [lo, hi] = [0, 1];
    for (let i = 0; i < 60; i++) {
      const u = (lo + hi) / 2;
      if (u < 2 / (1 + Math.exp(2 * u))) lo = u;
      else hi = u;
    }
    const model = await trainLogisticRegression(
      { values: Float32Array.from([-1, 1]), nCells: 2, nGenes: 1, labels: ['a', 'b'] },
      { tolerance: 1e-7, patience: 100, maxSteps: 5000 },
    );
    expect(model.steps).toBeLessThan(5000); // stopped because the loss stopped improving
    expect(model.weights[0]).toBeCloseTo(-lo, 2);
    expect(model.weights[1]).toBeCloseTo(lo, 2);
    expect(Math.abs(model.bias[0] - model.bias[1])).toBeLessThan(0.01);
  });

  it('keeps going through an early overshoot and stops on a plateau', () => {
    // Best early (1.0), overshoot to 5, recovering: still improving window on window.
    expect(improving([1, 5, 4, 3, 2.5, 2], 2, 1e-3)).toBe(true);
    // Oscillating around 0.5: the last window is no better than the one before.
    expect(improving([0.6, 0.5, 0.51, 0.5, 0.501, 0.5], 2, 1e-3)).toBe(false);
  });

  it('shrinks the weights more when C is small (the L2 penalty acts)', async () => {
    const train = blobs(TWO, 30, 1);
    const norm = (w: Float32Array) => Math.hypot(...w);
    const loose = await trainLogisticRegression(train, { C: 100 });
    const tight = await trainLogisticRegression(train, { C: 0.001 });
    expect(norm(tight.weights)).toBeLessThan(norm(loose.weights) / 2);
  });
});

describe('nearest centroid on standardised genes', () => {
  it('computes the per-type means of the standardised genes and labels blobs by cosine', () => {
    // Gene 1 has mean 2 and sd 2 (values 0, 0, 4, 4); gene 2 is constant and left out.
    const train = {
      values: Float32Array.from([0, 7, 0, 7, 4, 7, 4, 7]),
      nCells: 4,
      nGenes: 2,
      labels: ['p', 'p', 'q', 'q'],
    };
    const model = trainNearestCentroid(train);
    expect(Array.from(model.mean)).toEqual([2, 7]);
    expect(Array.from(model.inverseSd)).toEqual([0.5, 0]);
    expect(Array.from(model.centroids)).toEqual([-1, 0, 1, 0]);
    const query = { values: Float32Array.from([1, 100, 3, -5]), nCells: 2, nGenes: 2 };
    expect(predictNearestCentroid(model, query)).toEqual(['p', 'q']);
  });

  it('leaves out the genes it is told not to use', () => {
    // Gene 1 separates p from q; gene 2 says the opposite but is not to be used.
    const train = {
      values: Float32Array.from([0, 4, 0, 4, 4, 0, 4, 0]),
      nCells: 4,
      nGenes: 2,
      labels: ['p', 'p', 'q', 'q'],
    };
    const query = { values: Float32Array.from([0.5, 0.5]), nCells: 1, nGenes: 2 };
    expect(predictNearestCentroid(trainNearestCentroid(train, [true, false]), query)).toEqual(['p']);
    expect(predictNearestCentroid(trainNearestCentroid(train, [false, true]), query)).toEqual(['q']);
  });

  it('labels a 3-class case', () => {
    const model = trainNearestCentroid(blobs(THREE, 25, 5));
    const test = blobs(THREE, 15, 6);
    expect(predictNearestCentroid(model, test)).toEqual(test.labels);
  });
});

describe('standardised rows (the lr-std baseline)', () => {
  it("scales each used gene by the references' mean and sd, and drops the others", () => {
    // Gene 1: mean 2, sd 2 (0, 0, 4, 4); gene 2 constant; gene 3 varies but is not to be used.
    const train = { values: Float32Array.from([0, 7, 1, 0, 7, 2, 4, 7, 3, 4, 7, 4]), nCells: 4, nGenes: 3 };
    const scaling = geneScaling(train, [true, true, false]);
    expect(Array.from(scaling.mean)).toEqual([2, 7, 2.5]);
    expect(Array.from(scaling.inverseSd)).toEqual([0.5, 0, 0]);
    const rows = standardiseRows(
      { values: Float32Array.from([6, 100, 9, -2, 0, 0]), nCells: 2, nGenes: 3 },
      scaling,
    );
    expect(rows).toEqual({ values: Float32Array.from([2, -2]), nCells: 2, nGenes: 1 });
  });

  it('trains logistic regression on standardised rows and labels standardised query rows', async () => {
    // The query is standardised with the references' statistics, never its own.
    const train = blobs(THREE, 20, 7);
    const scaling = geneScaling(train);
    const model = await trainLogisticRegression(
      { ...standardiseRows(train, scaling), labels: train.labels },
      { maxSteps: 400 },
    );
    const test = blobs(THREE, 10, 8);
    expect(await predictLinear(model, standardiseRows(test, scaling))).toEqual(test.labels);
  });
});

describe('poolReferences', () => {
  it('pools over the union of genes (case-insensitive) and aligns the query to it', () => {
    const r1: ExpressionMatrix = {
      source: 'r1',
      cellIds: ['c1'],
      genes: ['A', 'B'],
      values: Float32Array.from([1, 2]),
      labels: ['t'],
    };
    const r2: ExpressionMatrix = {
      source: 'r2',
      cellIds: ['c2'],
      genes: ['b', 'C'],
      values: Float32Array.from([3, 4]),
      labels: ['u'],
    };
    const q: ExpressionMatrix = {
      source: 'q',
      cellIds: ['q1'],
      genes: ['C', 'D', 'B'],
      values: Float32Array.from([5, 6, 7]),
    };
    const pooled = poolReferences([r1, r2], q);
    expect(pooled.genes).toEqual(['a', 'b', 'c']);
    expect(Array.from(pooled.train.values)).toEqual([1, 2, 0, 0, 3, 4]);
    expect(pooled.train.labels).toEqual(['t', 'u']);
    expect(Array.from(pooled.query.values)).toEqual([0, 7, 5]);
    // Only b is measured by both references and the query.
    expect(pooled.sharedGenes).toEqual([false, true, false]);
  });
});
