import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initParameters } from '@fl/engine';
import { InputError } from '@fl/formats';
import { loadBundle, saveBundle } from './bundle';
import type { FederatedModel, TrainingOptions } from './model';

const shape = { inputSize: 3, hiddenSize: 4, embeddingSize: 2 };
const model = (): FederatedModel => ({
  genes: ['cd3e', 'lyz', 'ms4a1'],
  shape,
  params: initParameters(shape, 11),
  landmarks: [
    {
      institution: 'a',
      types: ['B', 'T'],
      cellCounts: [3, 4],
      landmarks: Float32Array.of(0.1, -0.2, 1 / 3, 7e-8),
    },
  ],
});
const options: TrainingOptions = {
  rounds: 2,
  localSteps: 1,
  learningRate: 0.0005,
  seed: 4,
  hiddenSize: 4,
  embeddingSize: 2,
  weighting: 'uniform',
  aggregation: 'fedavg-uniform',
};
const meta = {
  options,
  backend: 'wasm',
  institutions: [{ name: 'a', numExamples: 7, types: ['B', 'T'], typeCounts: [3, 4] }],
  toolVersion: '0.0.0-test',
};

describe(saveBundle.name, () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bundle-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('should round-trip weights, genes and landmarks exactly', async () => {
    const m = model();
    await saveBundle(join(dir, 'model'), m, meta);
    const { model: loaded, manifest } = await loadBundle(join(dir, 'model'));
    expect(Array.from(loaded.params)).toEqual(Array.from(m.params));
    expect(loaded.genes).toEqual(m.genes);
    expect(Array.from(loaded.landmarks[0].landmarks)).toEqual(Array.from(m.landmarks[0].landmarks));
    expect(manifest.seed).toBe(4);
    expect(manifest.backend).toBe('wasm');
    expect(manifest.geneCount).toBe(3);
    expect(Object.keys(manifest.files).sort()).toEqual(['genes.txt', 'landmarks.json', 'weights.bin']);
  });

  it("should round-trip an ensemble's further members, each file checksummed", async () => {
    const m = model();
    const member = {
      params: initParameters(shape, 99),
      landmarks: [{ ...m.landmarks[0], landmarks: Float32Array.of(0.5, 0.25, -1, 2) }],
    };
    m.ensemble = [member];
    await saveBundle(join(dir, 'model'), m, { ...meta, options: { ...options, ensembleSize: 2 } });
    const { model: loaded, manifest } = await loadBundle(join(dir, 'model'));
    expect(Object.keys(manifest.files).sort()).toEqual([
      'genes.txt',
      'landmarks-1.json',
      'landmarks.json',
      'weights-1.bin',
      'weights.bin',
    ]);
    expect(loaded.ensemble).toHaveLength(1);
    expect(Array.from(loaded.ensemble![0].params)).toEqual(Array.from(member.params));
    expect(Array.from(loaded.ensemble![0].landmarks[0].landmarks)).toEqual([0.5, 0.25, -1, 2]);
    expect(Array.from(loaded.params)).toEqual(Array.from(m.params));
    // A member's file altered: refused like the first member's.
    const path = join(dir, 'model', 'weights-1.bin');
    const bytes = await readFile(path);
    bytes[3] ^= 1;
    await writeFile(path, bytes);
    await expect(loadBundle(join(dir, 'model'))).rejects.toThrow(/weights-1\.bin: checksum mismatch/);
  });

  it('should replace an existing bundle and leave no staging folders behind', async () => {
    await saveBundle(join(dir, 'model'), model(), meta);
    const second = { ...model(), params: initParameters(shape, 12) };
    await saveBundle(join(dir, 'model'), second, meta);
    const { model: loaded } = await loadBundle(join(dir, 'model'));
    expect(Array.from(loaded.params)).toEqual(Array.from(second.params));
    expect(await readdir(dir)).toEqual(['model']);
  });
});

describe(loadBundle.name, () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bundle-'));
    await saveBundle(join(dir, 'model'), model(), meta);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('should refuse a bundle whose weights were altered by one bit', async () => {
    const path = join(dir, 'model', 'weights.bin');
    const bytes = await readFile(path);
    bytes[5] ^= 1;
    await writeFile(path, bytes);
    await expect(loadBundle(join(dir, 'model'))).rejects.toThrow(/weights\.bin: checksum mismatch/);
  });

  it('should say a folder without manifest is not a model bundle', async () => {
    await expect(loadBundle(dir)).rejects.toThrow(InputError);
    await expect(loadBundle(dir)).rejects.toThrow(/not a model bundle/);
  });
});
