import type { FederatedModel } from '@fl/federation';
import type { LandmarkSet, ModelVersion } from '@fl/persistence';
import { assembleModel, type BlobReader, type ModelVersionManifest } from '@fl/platform';

/**
 * A model version's landmark sets in the federation's institution order (the manifest's), the
 * order annotation breaks ties in; sets of institutions it does not list (a merged "*" set) last.
 */
export function inInstitutionOrder<T extends Pick<LandmarkSet, 'institution' | 'createdAt'>>(
  manifest: ModelVersionManifest,
  sets: readonly T[],
): T[] {
  const order = new Map((manifest.institutions ?? []).map((inst, i) => [inst.name, i]));
  const rank = (s: T) => order.get(s.institution) ?? Number.MAX_SAFE_INTEGER;
  return [...sets].sort((a, b) => rank(a) - rank(b) || a.createdAt.getTime() - b.createdAt.getTime());
}

/** Rebuilds a model version from storage (every object's sha256 checked). */
export async function assembleModelVersion(
  store: BlobReader,
  version: Pick<ModelVersion, 'id' | 'objectKey' | 'sha256' | 'manifest'>,
  landmarkSets: readonly LandmarkSet[],
): Promise<FederatedModel> {
  if (landmarkSets.length === 0) {
    throw new Error(`model version ${version.id} has no landmark sets yet, so it cannot annotate`);
  }
  const manifest = version.manifest as unknown as ModelVersionManifest;
  const ordered = inInstitutionOrder(manifest, landmarkSets);
  return assembleModel(
    store,
    { objectKey: version.objectKey, sha256: version.sha256, manifest },
    ordered.map((l) => ({ key: l.objectKey, sha256: l.sha256, member: l.member })),
  );
}
