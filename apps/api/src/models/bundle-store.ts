import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { ModelVersionManifest } from '@fl/platform';
import type { ObjectStore, StoredObject } from '@fl/storage';
import type { PreparedBundle } from './bundle-prepare';

/** What storeModelObjects answers, for a bundle stored from its files. */
export interface StoredBundle {
  weights: StoredObject;
  manifest: ModelVersionManifest;
  landmarks: (StoredObject & {
    member: number;
    institution: string;
    types: string[];
    cellCounts: number[];
  })[];
}

/**
 * Stores a prepared bundle under `prefix` with the keys and layout of storeModelObjects, streaming
 * each file from disk: weights.bin may be hundreds of MiB and is never held by the api.
 */
export async function storeBundleFiles(
  store: Pick<ObjectStore, 'putStream'>,
  prefix: string,
  bundle: PreparedBundle,
): Promise<StoredBundle> {
  const put = (key: string, path: string) => store.putStream(key, createReadStream(path));
  // An ensemble's models one after another in one object, as a federation's versions hold them.
  const paths = [bundle.weightsPath, ...bundle.memberWeightsPaths];
  const weights = await store.putStream(`${prefix}/weights.bin`, Readable.from(concatenated(paths)));
  const genes = await put(`${prefix}/genes.txt`, bundle.genes.path);
  const landmarks: StoredBundle['landmarks'] = [];
  const counts = new Map<number, number>();
  for (const set of bundle.landmarks) {
    // Model 0's keys are a single model's (landmarks/000.json); model k's: landmarks/<k>-000.json.
    const i = counts.get(set.member) ?? 0;
    counts.set(set.member, i + 1);
    const name = `${set.member > 0 ? `${set.member}-` : ''}${String(i).padStart(3, '0')}`;
    const stored = await put(`${prefix}/landmarks/${name}.json`, set.path);
    landmarks.push({
      ...stored,
      member: set.member,
      institution: set.institution,
      types: set.types,
      cellCounts: set.cellCounts,
    });
  }
  const { manifest } = bundle;
  return {
    weights,
    manifest: {
      shape: manifest.shape,
      options: manifest.options,
      genes: { key: genes.key, sha256: genes.sha256, count: bundle.genes.count },
      institutions: manifest.institutions,
      parameterCount: manifest.parameterCount,
    },
    landmarks,
  };
}

/** The files' bytes one after another, streamed. */
async function* concatenated(paths: readonly string[]): AsyncGenerator<Buffer> {
  for (const path of paths) for await (const chunk of createReadStream(path)) yield chunk as Buffer;
}
