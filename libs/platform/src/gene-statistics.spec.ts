import { describe, expect, it } from 'vitest';
import { readExpression } from '@fl/formats';
import { dispersionFixedPoint, normalisedDispersions, prepareInstitutionData } from '@fl/federation';
import { encodeRange, wordsFor } from '@fl/secure-agg';
import { FederationFailed, type FederationOptions } from './federation-driver';
import { decodeGenes } from './model-objects';
import { MemoryFederation } from './testing/in-memory-federation';
import { embeddedFederation, PBMC_MINI_REFERENCES } from './testing/pbmc-mini';

// examples/pbmc-mini's three institutions unite about 1,000 genes, of which the variable-genes
// federations below keep 300 (100 per institution).
const references = PBMC_MINI_REFERENCES;

const options: FederationOptions = {
  rounds: 3,
  localSteps: 1,
  learningRate: 0.0005,
  seed: 11,
  hiddenSize: 32,
  embeddingSize: 8,
  weighting: 'uniform',
  secureAggregation: false,
  roundDeadlineSeconds: 30,
  variableGenes: 100,
};

const embedded = embeddedFederation;

async function modelGenes(fed: MemoryFederation): Promise<string[]> {
  const ref = fed.state.state!.genes!;
  return decodeGenes((await fed.store.getBuffer(ref.key, ref.sha256)).toString('utf8'));
}

describe('the gene-statistics phase (variable-genes preset) of a distributed federation', () => {
  it('chooses the embedded federation’s genes and trains its model bit for bit, secure aggregation off', async () => {
    const fed = await MemoryFederation.create({ references, options });
    const end = await fed.driver().run();
    expect(end.phase).toBe('done');
    const reference = await embedded(options);
    expect(reference.model.genes).toHaveLength(300);
    expect(await modelGenes(fed)).toEqual(reference.model.genes);
    expect(Buffer.from((await fed.finalWeights()).buffer)).toEqual(
      Buffer.from(reference.model.params.buffer),
    );
    expect(end.geneSelection).toMatchObject({
      from: reference.geneSelection!.from,
      chosen: 300,
      secure: false,
    });
    // Every institution scored the union once, before the first round's training.
    const names = fed.calls.map((c) => c.name);
    expect(names.filter((n) => n === 'gene-scores')).toHaveLength(3);
    expect(names.lastIndexOf('gene-scores')).toBeLessThan(names.indexOf('train'));
    // The model versions say how the genes were chosen, as the embedded bundle's manifest does.
    expect(fed.state.versions.get(3)!.manifest.options.variableGenes).toBe(100);
    expect(fed.state.versions.get(3)!.manifest.genes.count).toBe(300);
  });

  it('caps each institution at variableGenesPerCell genes per cell from the cells it reports, as the embedded federation does', async () => {
    // 1 gene per cell: pbmc3k's 196 cells keep 196 of its 200, the other two 120 each: 436, not 600.
    const capped = { ...options, variableGenes: 200, variableGenesPerCell: 1, secureAggregation: true };
    const fed = await MemoryFederation.create({ references, options: capped });
    const end = await fed.driver().run();
    const reference = await embedded(capped);
    expect(reference.model.genes).toHaveLength(436);
    expect(await modelGenes(fed)).toEqual(reference.model.genes);
    expect(Buffer.from((await fed.finalWeights()).buffer)).toEqual(
      Buffer.from(reference.model.params.buffer),
    );
    expect(end.geneSelection).toMatchObject({ chosen: 436, secure: true });
    expect(fed.state.versions.get(3)!.manifest.options).toMatchObject({
      variableGenes: 200,
      variableGenesPerCell: 1,
    });
  });

  it('caps each institution at one gene per detectedValuesPerGene of the values it reports detecting, as the embedded federation does', async () => {
    // One gene per 400 detected values: pbmc3k's cells detect 52,406 values (131 genes), 3p_v2's
    // 41,926 (105), 5p_vdj's 45,230 (113): 349, not 600.
    const capped = { ...options, variableGenes: 200, detectedValuesPerGene: 400, secureAggregation: true };
    const fed = await MemoryFederation.create({ references, options: capped });
    const end = await fed.driver().run();
    const reference = await embedded(capped);
    expect(reference.model.genes).toHaveLength(349);
    expect(await modelGenes(fed)).toEqual(reference.model.genes);
    expect(Buffer.from((await fed.finalWeights()).buffer)).toEqual(
      Buffer.from(reference.model.params.buffer),
    );
    expect(end.institutions!.map((i) => i.nDetected)).toEqual([52_406, 41_926, 45_230]);
    expect(end.geneSelection).toMatchObject({ chosen: 349, secure: true });
    expect(fed.state.versions.get(3)!.manifest.options).toMatchObject({
      variableGenes: 200,
      detectedValuesPerGene: 400,
    });
  });

  it('fails clearly, before any gene is scored, when a worker does not report its detected values (an older worker)', async () => {
    const capped = { ...options, variableGenes: 200, detectedValuesPerGene: 400 };
    const fed = await MemoryFederation.create({ references, options: capped });
    fed.intercept = (institution, name) =>
      institution === 'pbmc-10x-3p-v2' && name === 'describe'
        ? {
            ok: true,
            result: {
              genes: ['CD3E'],
              nCells: 120,
              types: ['B cells'],
              typeCounts: [120],
              backend: 'cpu',
            } as never,
          }
        : undefined;
    const failed = fed.driver().run();
    await expect(failed).rejects.toThrow(FederationFailed);
    await expect(failed).rejects.toThrow(
      'pbmc-10x-3p-v2 did not report its detected values (its worker is older than the aggregator): update it, or start the federation without detectedValuesPerGene',
    );
    expect(fed.calls.map((c) => c.name)).not.toContain('gene-scores');
  });

  it('uploads the scores an institution computes on its own cells (plain), each gene on the union’s columns', async () => {
    const fed = await MemoryFederation.create({ references, options: { ...options, rounds: 1 } });
    await fed.driver().run();
    const unionRef = fed.state.state!.union!;
    const union = decodeGenes((await fed.store.getBuffer(unionRef.key, unionRef.sha256)).toString('utf8'));
    const matrix = await readExpression(references[1].path, { role: 'reference' });
    const data = prepareInstitutionData({ name: references[1].institution, matrix }, union, false);
    const expected = normalisedDispersions(data.values, data.nCells, union.length);
    const uploaded = fed.store.objects.get('federations/fed-test/gene-statistics/pbmc-10x-3p-v2.bin')!;
    expect(uploaded.byteLength).toBe(union.length * 4);
    expect(Buffer.from(uploaded)).toEqual(Buffer.from(expected.buffer));
  });

  it('sums the scores through a secure round of their own: the same genes and model, only masked scores stored', async () => {
    const secure = { ...options, secureAggregation: true };
    const fed = await MemoryFederation.create({ references, options: secure });
    const end = await fed.driver().run();
    const reference = await embedded(secure);
    expect(await modelGenes(fed)).toEqual(reference.model.genes);
    expect(Buffer.from((await fed.finalWeights()).buffer)).toEqual(
      Buffer.from(reference.model.params.buffer),
    );
    expect(end.geneSelection).toMatchObject({ chosen: 300, secure: true });
    // The gene statistics used key epoch 0 (32-bit lanes), the rounds a fresh epoch 1.
    expect(end.geneEpoch).toBe(0);
    expect(end.secagg!.epoch).toBe(1);
    // A stored score vector is masked: none of its words is the institution's encoded score.
    const unionRef = end.union!;
    const union = decodeGenes((await fed.store.getBuffer(unionRef.key, unionRef.sha256)).toString('utf8'));
    const matrix = await readExpression(references[0].path, { role: 'reference' });
    const data = prepareInstitutionData({ name: references[0].institution, matrix }, union, false);
    const plain = new Uint32Array(wordsFor(union.length, 32));
    encodeRange(
      normalisedDispersions(data.values, data.nCells, union.length),
      plain,
      dispersionFixedPoint(3),
    );
    const stored = fed.store.objects.get('federations/fed-test/gene-statistics/pbmc3k-10x-v1.bin')!;
    const words = new Uint32Array(
      stored.buffer.slice(stored.byteOffset, stored.byteOffset + stored.byteLength),
    );
    expect(words.length).toBe(plain.length);
    expect(words.filter((w, i) => w === plain[i]).length).toBeLessThan(3);
  });

  it.each([true, false])(
    'fails the federation naming an institution that cannot score its genes, and a resume asks again (secure %s)',
    async (secureAggregation) => {
      const o = { ...options, secureAggregation };
      const fed = await MemoryFederation.create({ references, options: o });
      fed.intercept = (institution, name) =>
        institution === 'pbmc-10x-5p-vdj' && name === 'gene-scores'
          ? { ok: false, reason: 'out of memory', timedOut: false, stateLost: false }
          : undefined;
      const failed = fed.driver().run();
      await expect(failed).rejects.toThrow(FederationFailed);
      await expect(failed).rejects.toThrow(/pbmc-10x-5p-vdj: out of memory/);
      expect(fed.state.state!.phase).toBe('genes');
      // The failed job's outcome stays recorded under its id (as BullMQ keeps it): the resume's
      // jobs must be new ones.
      fed.intercept = undefined;
      const end = await fed.driver().run();
      expect(end.phase).toBe('done');
      expect(end.geneAttempt).toBe(1);
      if (secureAggregation) {
        expect(end.geneEpoch).toBe(1);
        expect(end.secagg!.epoch).toBe(2);
      }
      const reference = await embedded(o);
      expect(Buffer.from((await fed.finalWeights()).buffer)).toEqual(
        Buffer.from(reference.model.params.buffer),
      );
    },
  );

  it('refuses masked gene scores that are not the ones the institution signed, naming it', async () => {
    const secure = { ...options, secureAggregation: true };
    const fed = await MemoryFederation.create({ references, options: secure });
    const put = fed.store.putBuffer.bind(fed.store);
    fed.store.putBuffer = async (key, data) => {
      const bytes = Buffer.from(data);
      if (key.endsWith('gene-statistics/pbmc-10x-3p-v2.bin')) bytes[0] ^= 1; // changed after signing
      return put(key, bytes);
    };
    await expect(fed.driver().run()).rejects.toThrow(/pbmc-10x-3p-v2's gene scores were refused/);
    expect(fed.state.state!.phase).toBe('genes');
    expect(fed.state.state!.genes).toBeUndefined();
  });

  it('skips the phase when the union has no more genes than asked for', async () => {
    const all = { ...options, rounds: 1, variableGenes: 50_000 };
    const fed = await MemoryFederation.create({ references, options: all });
    const end = await fed.driver().run();
    expect(end.union).toBeUndefined();
    expect(end.geneSelection).toBeUndefined();
    expect(fed.calls.some((c) => c.name === 'gene-scores')).toBe(false);
    const reference = await embedded(all);
    expect(await modelGenes(fed)).toEqual(reference.model.genes);
    expect(Buffer.from((await fed.finalWeights()).buffer)).toEqual(
      Buffer.from(reference.model.params.buffer),
    );
  });
});
