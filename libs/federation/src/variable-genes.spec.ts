import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@fl/engine';
import { InputError, type ExpressionMatrix } from '@fl/formats';
import { annotateMatrix } from './annotate';
import { trainFederatedModel, type ReferenceDataset } from './train-federated-model';
import {
  DISPERSION_CLIP,
  dispersionFixedPoint,
  geneMoments,
  keepGenes,
  normalisedDispersions,
  sumDispersionsPlain,
  sumDispersionsSecure,
  institutionGeneCount,
  topGenes,
  UNSEEN_GENE_SCORE,
  variableGeneTotal,
} from './variable-genes';

const info = (names: string[]) =>
  names.map((name, index) => ({ index, name, numExamples: 3, types: ['x'], typeCounts: [3] }));

describe('gene dispersions', () => {
  it('is the sample variance over the mean, per gene (worked by hand)', () => {
    // 3 cells x 3 genes, row-major. Gene 0: 1, 2, 3 (mean 2, variance 1); gene 1: never seen;
    // gene 2: 0, 0, 6 (mean 2, variance ((2^2 + 2^2 + 4^2) / 2) = 12).
    const values = Float32Array.from([1, 0, 0, 2, 0, 0, 3, 0, 6]);
    expect(Array.from(geneMoments(values, 3, 3).dispersion)).toEqual([0.5, 0, 6]);
  });

  it('is 0 for every gene of a single cell (no variance to measure)', () => {
    expect(Array.from(geneMoments(Float32Array.from([4, 0, 2]), 1, 3).dispersion)).toEqual([0, 0, 0]);
  });
});

describe('normalised dispersions', () => {
  it('z-scores log dispersion within bins of mean expression (worked by hand)', () => {
    // 3 cells x 4 genes. A: 1, 1, 2 (mean 4/3, variance 1/3, dispersion 1/4); B: 0, 0, 4 (mean
    // 4/3, variance 16/3, dispersion 4); C: 5, 6, 7 (mean 6, dispersion 1/6); D: never seen.
    // Bins: 20 of width (6 - 4/3) / 20 from 4/3: A and B share bin 0, C is alone in bin 19.
    // A and B: log dispersions -ln 4 and ln 4, mean 0, sd (n - 1) ln 4 * sqrt(2): z = -/+ 1/sqrt(2).
    const values = Float32Array.from([1, 0, 5, 0, 1, 0, 6, 0, 2, 4, 7, 0]);
    const z = Array.from(normalisedDispersions(values, 3, 4));
    expect(z[0]).toBeCloseTo(-Math.SQRT1_2, 6);
    expect(z[1]).toBeCloseTo(Math.SQRT1_2, 6);
    expect(z[2]).toBe(1); // alone in its bin: 1, as scanpy
    expect(z[3]).toBe(UNSEEN_GENE_SCORE);
  });

  it('ranks a gene by its dispersion for its expression level, not by dispersion alone', () => {
    // 10 cells. Low genes (mean 0.1): 1 in one cell (dispersion 1), 0.5 in two (0.44). High
    // genes (mean 5.5): 5 or 6 (dispersion 0.051), 5.4 or 5.6 (0.0020). Each pair shares a bin.
    const rows: number[] = [];
    for (let c = 0; c < 10; c++)
      rows.push(c === 0 ? 1 : 0, c < 2 ? 0.5 : 0, 5 + (c % 2), 5.4 + 0.2 * (c % 2));
    const values = Float32Array.from(rows);
    const d = Array.from(geneMoments(values, 10, 4).dispersion);
    const z = Array.from(normalisedDispersions(values, 10, 4));
    // By raw dispersion the less variable low gene beats the more variable high gene; normalised,
    // the more variable gene of each pair scores the same, above both less variable ones.
    expect(d[1]).toBeGreaterThan(d[2]);
    expect(z[0]).toBeCloseTo(Math.SQRT1_2, 6);
    expect(z[2]).toBeCloseTo(Math.SQRT1_2, 6);
    expect(z[1]).toBeCloseTo(-Math.SQRT1_2, 6);
    expect(z[3]).toBeCloseTo(-Math.SQRT1_2, 6);
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

describe('how many genes a federation keeps', () => {
  it('gives each institution variableGenes, or with a cap per cell at most that many per reference cell', () => {
    expect(institutionGeneCount(2000, { cells: 94 })).toBe(2000);
    expect(institutionGeneCount(2000, { cells: 94 }, { genesPerCell: 10 })).toBe(940);
    expect(institutionGeneCount(2000, { cells: 300 }, { genesPerCell: 10 })).toBe(2000); // 3,000 allowed, 2,000 asked
    expect(institutionGeneCount(2000, { cells: 3 }, { genesPerCell: 10 })).toBe(50); // never below MIN_VARIABLE_GENES
  });

  it('with a cap per detected values, gives a sparse reference fewer genes than a dense one of as many cells', () => {
    // pbmc3k at 20 cells per type: 94 cells detecting 37,652 values; baron: 100 cells, 177,900.
    const caps = { detectedValuesPerGene: 40 };
    expect(institutionGeneCount(2000, { cells: 94, detected: 37_652 }, caps)).toBe(941); // 941.3
    expect(institutionGeneCount(2000, { cells: 100, detected: 177_900 }, caps)).toBe(2000); // 4,447 allowed
    expect(institutionGeneCount(2000, { cells: 5, detected: 400 }, caps)).toBe(50); // never below MIN_VARIABLE_GENES
    expect(institutionGeneCount(2000, { cells: 94, detected: 37_660 }, caps)).toBe(942); // 941.5 rounds up
  });

  it('takes the lower of the two caps', () => {
    const counts = { cells: 94, detected: 37_652 };
    expect(institutionGeneCount(2000, counts, { genesPerCell: 5, detectedValuesPerGene: 40 })).toBe(470);
    expect(institutionGeneCount(2000, counts, { genesPerCell: 20, detectedValuesPerGene: 40 })).toBe(941);
    expect(institutionGeneCount(500, counts, { genesPerCell: 20, detectedValuesPerGene: 40 })).toBe(500);
  });

  it('refuses a cap per detected values without the count (a program error, not a user one)', () => {
    expect(() => institutionGeneCount(2000, { cells: 94 }, { detectedValuesPerGene: 40 })).toThrow(
      /detected values/,
    );
    expect(institutionGeneCount(2000, { cells: 94 }, { detectedValuesPerGene: 0 })).toBe(2000);
  });

  it('sums the institutions: pbmc at 20 cells per type (94, 60 and 60 cells) keeps 2,140 genes, not 6,000', () => {
    const cells = [94, 60, 60].map((n) => ({ cells: n }));
    expect(variableGeneTotal(2000, cells, { genesPerCell: 10 })).toBe(940 + 600 + 600);
    expect(variableGeneTotal(2000, cells)).toBe(6000);
    expect(variableGeneTotal(2000, cells, { genesPerCell: 0 })).toBe(6000);
    const detected = [37_652, 36_440, 43_680].map((d, i) => ({ ...cells[i], detected: d }));
    expect(variableGeneTotal(2000, detected, { detectedValuesPerGene: 40 })).toBe(941 + 911 + 1092);
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
 * Institutions whose genes each mark one of 4 types (2 + noise in its cells, noise elsewhere);
 * `nGenes` of them (MARK0, MARK1, ...), so that some institutions lack the last ones.
 */
function institution(name: string, perType: number, seed: number, nGenes = 60): ReferenceDataset {
  let s = seed;
  const rand = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const genes = Array.from({ length: nGenes }, (_, g) => `MARK${g}`);
  const types = ['alpha', 'beta', 'gamma', 'delta'];
  const cellIds: string[] = [];
  const labels: string[] = [];
  const rows: number[] = [];
  types.forEach((type, t) => {
    for (let c = 0; c < perType; c++) {
      cellIds.push(`${name}_${type}_${c}`);
      labels.push(type);
      genes.forEach((_, g) => rows.push((g % 4 === t ? 2 : 0) + rand() * 0.3));
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
  // lab-b and lab-c lack MARK160-MARK199: those score UNSEEN_GENE_SCORE there and rank last.
  const references = () => [
    institution('lab-a', 6, 1, 200),
    institution('lab-b', 5, 2, 160),
    institution('lab-c', 4, 3, 160),
  ];
  const small = { rounds: 20, hiddenSize: 16, embeddingSize: 4, learningRate: 0.01, seed: 3 };

  it('trains on the chosen number of genes per institution, those every institution measures first', async () => {
    const trained = await trainFederatedModel(references(), { ...small, variableGenes: 50 });
    // 50 per institution, 3 institutions: 150 of the union's 200, all among the 160 measured
    // everywhere, in the union's order.
    const everywhere = Array.from({ length: 160 }, (_, g) => `mark${g}`);
    expect(trained.model.genes).toHaveLength(150);
    expect(everywhere.filter((g) => trained.model.genes.includes(g))).toEqual(trained.model.genes);
    expect(trained.model.shape.inputSize).toBe(150);
    expect(trained.geneSelection).toMatchObject({ from: 200, chosen: 150, secure: false });
    expect(trained.geneSelection!.seconds).toBeGreaterThanOrEqual(0);
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
    expect(secure.geneSelection).toMatchObject({ from: 200, chosen: 150, secure: true });
  });

  it('keeps every gene at 0 or at a count above the union, and records nothing then', async () => {
    const all = await trainFederatedModel(references(), { ...small, rounds: 1, variableGenes: 0 });
    expect(all.model.genes).toHaveLength(200);
    expect(all.options).not.toHaveProperty('variableGenes');
    expect(all).not.toHaveProperty('geneSelection');
    // 70 x 3 institutions = 210, more than the union's 200.
    const more = await trainFederatedModel(references(), { ...small, rounds: 1, variableGenes: 70 });
    expect(more.model.genes).toEqual(all.model.genes);
  });

  it('caps each institution at variableGenesPerCell genes per cell, and records the cap', async () => {
    // 3 per cell: lab-a (24 cells) keeps 60, lab-b (20) 60, lab-c (16) 48, raised to 50: 170.
    const trained = await trainFederatedModel(references(), {
      ...small,
      rounds: 1,
      variableGenes: 60,
      variableGenesPerCell: 3,
    });
    expect(trained.model.genes).toHaveLength(170);
    expect(trained.options).toMatchObject({ variableGenes: 60, variableGenesPerCell: 3 });
    const uncapped = await trainFederatedModel(references(), { ...small, rounds: 1, variableGenes: 60 });
    expect(uncapped.model.genes).toHaveLength(180);
    expect(uncapped.options).not.toHaveProperty('variableGenesPerCell');
    // The 170 are the uncapped run's 180 minus the 10 of lowest summed score.
    expect(uncapped.model.genes.filter((g) => trained.model.genes.includes(g))).toEqual(trained.model.genes);
  });

  it('caps each institution at one gene per detectedValuesPerGene of its detected values, and records the cap', async () => {
    // Every value is detected here: lab-a's 24 cells x 200 genes detect 4,800 (80 genes at 60 a
    // gene, asked 60), lab-b's 20 x 160 3,200 (53), lab-c's 16 x 160 2,560 (43, raised to 50): 163.
    const trained = await trainFederatedModel(references(), {
      ...small,
      rounds: 1,
      variableGenes: 60,
      detectedValuesPerGene: 60,
    });
    expect(trained.model.genes).toHaveLength(163);
    expect(trained.options).toMatchObject({ variableGenes: 60, detectedValuesPerGene: 60 });
    expect(trained.options).not.toHaveProperty('variableGenesPerCell');
    const uncapped = await trainFederatedModel(references(), { ...small, rounds: 1, variableGenes: 60 });
    expect(uncapped.options).not.toHaveProperty('detectedValuesPerGene');
    expect(uncapped.model.genes.filter((g) => trained.model.genes.includes(g))).toEqual(trained.model.genes);
    // Without variable genes there is nothing to cap, and nothing is recorded.
    const all = await trainFederatedModel(references(), { ...small, rounds: 1, detectedValuesPerGene: 60 });
    expect(all.model.genes).toHaveLength(200);
    expect(all.options).not.toHaveProperty('detectedValuesPerGene');
  });

  it('refuses a cap that is not a whole number in its range, naming the field', async () => {
    for (const bad of [1.5, -1, 10_001])
      await expect(
        trainFederatedModel(references(), { ...small, variableGenes: 60, variableGenesPerCell: bad }),
      ).rejects.toThrow(/variableGenesPerCell must be 0 \(no cap\) or a whole number from 1 to 10000/);
    for (const bad of [2.5, -40, 1_000_001])
      await expect(
        trainFederatedModel(references(), { ...small, variableGenes: 60, detectedValuesPerGene: bad }),
      ).rejects.toThrow(/detectedValuesPerGene must be 0 \(no cap\) or a whole number from 1 to 1000000/);
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
