import type { ModelShape } from '@fl/engine';
import type { BundleManifest, FederatedModel, LandmarkSet, TrainingOptions } from '@fl/federation';

/**
 * How a model version lives in the object store (docs/platform.md): its weights as one object
 * (float32, little-endian, the engine's flat layout, exactly a bundle's weights.bin), the
 * federation's genes as one text object (a bundle's genes.txt), and one JSON object per
 * institution's landmark set. A model version row records keys and sha256 of all of them, so a
 * bundle can be rebuilt from storage and a command-line bundle imported, byte for byte.
 */

/** The subset of an object store these helpers need (libs/storage's ObjectStore fits). */
export interface BlobReader {
  getBuffer(key: string, expectedSha256: string): Promise<Buffer>;
}
export interface BlobWriter {
  putBuffer(key: string, data: Uint8Array): Promise<{ key: string; sha256: string; bytes: number }>;
}

export interface ObjectRef {
  key: string;
  sha256: string;
}

/** ModelVersion.manifest (JSON column). */
export interface ModelVersionManifest {
  shape: ModelShape;
  options: TrainingOptions;
  genes: ObjectRef & { count: number };
  /** Public summaries of the institutions, in the federation's order. */
  institutions: BundleManifest['institutions'];
  /**
   * Floats in each model's weights. An ensemble's version (options.ensembleSize models, the
   * ensemble presets) holds its models' weights one after another in its one weights object, and
   * each model's landmark sets are the version's LandmarkSet rows of that `member`.
   */
  parameterCount: number;
}

/** Models a version holds (options.ensembleSize; 1 for a single model or a manifest without options). */
export const modelCount = (manifest: Partial<Pick<ModelVersionManifest, 'options'>> | null): number =>
  manifest?.options?.ensembleSize ?? 1;

export function encodeWeights(params: Float32Array): Uint8Array {
  return new Uint8Array(params.buffer, params.byteOffset, params.byteLength);
}

export function decodeWeights(data: Uint8Array, parameterCount: number, what = 'weights'): Float32Array {
  if (data.byteLength !== parameterCount * 4) {
    throw new Error(
      `${what}: ${data.byteLength} bytes, expected ${parameterCount * 4} (${parameterCount} float32)`,
    );
  }
  // Copy into an aligned buffer: a Buffer from a pool may start at an odd offset.
  const out = new Float32Array(parameterCount);
  new Uint8Array(out.buffer).set(data);
  return out;
}

export function encodeGenes(genes: readonly string[]): string {
  return genes.join('\n') + '\n';
}

export function decodeGenes(text: string): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

interface LandmarkSetJson {
  institution: string;
  types: string[];
  cellCounts: number[];
  embeddingSize: number;
  /** float32 values widen to doubles exactly, and JSON prints doubles round-trip. */
  landmarks: number[];
}

export function encodeLandmarkSet(set: LandmarkSet, embeddingSize: number): string {
  const json: LandmarkSetJson = {
    institution: set.institution,
    types: set.types,
    cellCounts: set.cellCounts,
    embeddingSize,
    landmarks: Array.from(set.landmarks),
  };
  return JSON.stringify(json);
}

export function decodeLandmarkSet(text: string, embeddingSize: number, what = 'landmark set'): LandmarkSet {
  const json = JSON.parse(text) as LandmarkSetJson;
  if (json.embeddingSize !== embeddingSize || json.landmarks.length !== json.types.length * embeddingSize) {
    throw new Error(`${what}: landmarks do not match the model's embedding size ${embeddingSize}`);
  }
  return {
    institution: json.institution,
    types: json.types,
    cellCounts: json.cellCounts,
    landmarks: Float32Array.from(json.landmarks),
  };
}

/** Rebuilds a model (for annotation or bundle export) from its objects, verifying every hash. */
export async function assembleModel(
  store: BlobReader,
  version: { objectKey: string; sha256: string; manifest: ModelVersionManifest },
  landmarkObjects: readonly (ObjectRef & { member?: number })[],
): Promise<FederatedModel> {
  const { manifest } = version;
  const [weights, genesText, ...landmarkTexts] = await Promise.all([
    store.getBuffer(version.objectKey, version.sha256),
    store.getBuffer(manifest.genes.key, manifest.genes.sha256),
    ...landmarkObjects.map((l) => store.getBuffer(l.key, l.sha256)),
  ]);
  const genes = decodeGenes(genesText.toString('utf8'));
  if (genes.length !== manifest.genes.count || genes.length !== manifest.shape.inputSize) {
    throw new Error(
      `${manifest.genes.key}: ${genes.length} genes, the model expects ${manifest.shape.inputSize}`,
    );
  }
  const models = modelCount(manifest);
  const perModel = manifest.parameterCount;
  const params = decodeWeights(weights, perModel * models, version.objectKey);
  const sets = landmarkTexts.map((t, i) =>
    decodeLandmarkSet(t.toString('utf8'), manifest.shape.embeddingSize, landmarkObjects[i].key),
  );
  const stray = landmarkObjects.find((l) => (l.member ?? 0) >= models);
  if (stray)
    throw new Error(`${stray.key}: a landmark set of model ${stray.member! + 1}; the version has ${models}`);
  // Each model's weights (a view) and its sets, in the order given (the caller's institution order).
  const model = (k: number) => {
    const landmarks = sets.filter((_, i) => (landmarkObjects[i].member ?? 0) === k);
    if (landmarks.length === 0) throw new Error(`model ${k + 1} of ${models} has no landmark sets`);
    return { params: params.subarray(k * perModel, (k + 1) * perModel), landmarks };
  };
  const [first, ...rest] = Array.from({ length: models }, (_, k) => model(k));
  return {
    genes,
    shape: manifest.shape,
    params: first.params,
    landmarks: first.landmarks,
    ...(rest.length > 0 && { ensemble: rest }),
  };
}

/** Stores a loaded model bundle's contents under `prefix` (an imported model version). */
export async function storeModelObjects(
  store: BlobWriter,
  prefix: string,
  model: FederatedModel,
  meta: { options: TrainingOptions; institutions: BundleManifest['institutions'] },
): Promise<{
  weights: ObjectRef & { bytes: number };
  manifest: ModelVersionManifest;
  landmarks: (ObjectRef & { institution: string; types: string[]; cellCounts: number[] })[];
}> {
  const weights = await store.putBuffer(`${prefix}/weights.bin`, encodeWeights(model.params));
  const genes = await store.putBuffer(`${prefix}/genes.txt`, Buffer.from(encodeGenes(model.genes)));
  const landmarks = [];
  for (const [i, set] of model.landmarks.entries()) {
    const stored = await store.putBuffer(
      `${prefix}/landmarks/${String(i).padStart(3, '0')}.json`,
      Buffer.from(encodeLandmarkSet(set, model.shape.embeddingSize)),
    );
    landmarks.push({ ...stored, institution: set.institution, types: set.types, cellCounts: set.cellCounts });
  }
  return {
    weights,
    manifest: {
      shape: model.shape,
      options: meta.options,
      genes: { key: genes.key, sha256: genes.sha256, count: model.genes.length },
      institutions: meta.institutions,
      parameterCount: model.params.length,
    },
    landmarks,
  };
}
