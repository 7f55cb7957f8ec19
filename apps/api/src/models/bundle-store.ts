import { createReadStream } from 'node:fs';
import type { ModelVersionManifest } from '@fl/platform';
import type { ObjectStore, StoredObject } from '@fl/storage';
import type { PreparedBundle } from './bundle-prepare';

/** What storeModelObjects answers, for a bundle stored from its files. */
export interface StoredBundle {
  weights: StoredObject;
  manifest: ModelVersionManifest;
  landmarks: (StoredObject & { institution: string; types: string[]; cellCounts: number[] })[];
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
  const weights = await put(`${prefix}/weights.bin`, bundle.weightsPath);
  const genes = await put(`${prefix}/genes.txt`, bundle.genes.path);
  const landmarks: StoredBundle['landmarks'] = [];
  for (const [i, set] of bundle.landmarks.entries()) {
    const stored = await put(`${prefix}/landmarks/${String(i).padStart(3, '0')}.json`, set.path);
    landmarks.push({ ...stored, institution: set.institution, types: set.types, cellCounts: set.cellCounts });
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
