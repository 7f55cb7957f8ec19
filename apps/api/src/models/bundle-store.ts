import { createReadStream } from 'node:fs';
import type { ModelVersionManifest } from '@fl/platform';
import type { ObjectStore, StoredObject } from '@fl/storage';
import type { PreparedBundle } from './bundle-prepare';

/** What storeModelObjects answers, for a bundle stored from its files. */
export interface StoredBundle {
  weights: StoredObject;
  manifest: ModelVersionManifest;
  /** An ensemble's further models' weights (model k at k - 1). */
  members: StoredObject[];
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
  const weights = await put(`${prefix}/weights.bin`, bundle.weightsPath);
  const members: StoredObject[] = [];
  for (const [i, path] of bundle.memberWeightsPaths.entries())
    members.push(await put(`${prefix}/weights-${i + 1}.bin`, path));
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
    members,
    manifest: {
      shape: manifest.shape,
      options: manifest.options,
      genes: { key: genes.key, sha256: genes.sha256, count: bundle.genes.count },
      institutions: manifest.institutions,
      parameterCount: manifest.parameterCount,
      ...(members.length > 0 && { members: members.map((m) => ({ key: m.key, sha256: m.sha256 })) }),
    },
    landmarks,
  };
}
