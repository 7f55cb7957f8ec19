import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BundleManifest } from '@fl/federation';
// The file itself, not @fl/platform's index (queues, storage clients) in the validation thread.
import { encodeGenes, encodeLandmarkSet } from '../../../../libs/platform/src/model-objects';
import { checkBundle, type BundleCheckLimits } from './bundle-check';

/**
 * An imported bundle ready to store, as files on disk: what crosses back from the validation
 * thread to the api is this summary, never the weights or the landmarks themselves.
 */
export interface PreparedBundle {
  manifest: Pick<
    BundleManifest,
    'createdAt' | 'tool' | 'options' | 'seed' | 'backend' | 'shape' | 'parameterCount' | 'institutions'
  >;
  /** The bundle's weights.bin, stored as it is (the engine's flat float32 layout). */
  weightsPath: string;
  /** genes.txt as the object store keeps it (one gene a line, no blank lines). */
  genes: { path: string; count: number };
  /**
   * One object per landmark set, as storeModelObjects encodes it: model 0's in the bundle's
   * order, then each further model's of an ensemble (`member` k).
   */
  landmarks: { path: string; member: number; institution: string; types: string[]; cellCounts: number[] }[];
  /** An ensemble's further models' weights-<k>.bin, k = 1, 2, ..., stored as they are. */
  memberWeightsPaths: string[];
}

/**
 * Checks the bundle extracted in `dir` (checkBundle) and writes, into `outDir`, the genes and
 * landmark objects exactly as storeModelObjects would store them from loadBundle's model, so an
 * imported version is byte for byte what it was when the api parsed the bundle itself.
 */
export async function prepareBundle(
  dir: string,
  archiveName: string,
  limits: BundleCheckLimits,
  outDir: string,
): Promise<PreparedBundle> {
  const { manifest, genes, landmarks, members } = await checkBundle(dir, archiveName, limits);
  await mkdir(outDir, { recursive: true });
  const genesPath = join(outDir, 'genes.txt');
  await writeFile(genesPath, encodeGenes(genes));
  const sets: PreparedBundle['landmarks'] = [];
  for (const [member, file] of [landmarks, ...members.map((m) => m.landmarks)].entries()) {
    for (const [i, set] of file.institutions.entries()) {
      const path = join(outDir, `landmarks-${member}-${String(i).padStart(3, '0')}.json`);
      const encoded = encodeLandmarkSet(
        {
          institution: set.institution,
          types: set.types,
          cellCounts: set.cellCounts,
          landmarks: Float32Array.from(set.landmarks.flat()),
        },
        manifest.shape.embeddingSize,
      );
      await writeFile(path, encoded);
      sets.push({ path, member, institution: set.institution, types: set.types, cellCounts: set.cellCounts });
    }
  }
  return {
    manifest: {
      createdAt: manifest.createdAt,
      tool: manifest.tool,
      options: manifest.options,
      seed: manifest.seed,
      backend: manifest.backend,
      shape: manifest.shape,
      parameterCount: manifest.parameterCount,
      institutions: manifest.institutions,
    },
    weightsPath: join(dir, 'weights.bin'),
    memberWeightsPaths: members.map((m) => join(dir, m.weightsFile)),
    genes: { path: genesPath, count: genes.length },
    landmarks: sets,
  };
}
