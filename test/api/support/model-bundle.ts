import { execFileSync } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  saveBundle,
  trainFederatedModel,
  type FederatedModel,
  type TrainFederatedOptions,
} from '@fl/federation';
import { datasetName, readExpression } from '@fl/formats';

export const EXAMPLES = fileURLToPath(new URL('../../../examples/pbmc-mini/', import.meta.url));
export const QUERY = join(EXAMPLES, 'test', 'pbmc_10x_3p_v3.csv.gz');

/**
 * A small model trained in-process exactly as `scprivacy run --model-dir` does, packed with tar.
 * `extra`: further training options (e.g. an ensemble).
 */
export async function makeBundleTar(
  dir: string,
  extra: Partial<TrainFederatedOptions> = {},
): Promise<{ tar: string; bundleDir: string; model: FederatedModel }> {
  const trainDir = join(EXAMPLES, 'train');
  const files = (await readdir(trainDir)).sort();
  const references = await Promise.all(
    files.map(async (f) => ({
      name: datasetName(f),
      matrix: await readExpression(join(trainDir, f), { role: 'reference' }),
    })),
  );
  const trained = await trainFederatedModel(references, {
    rounds: 3,
    hiddenSize: 64,
    embeddingSize: 16,
    threads: 0,
    ...extra,
  });
  const bundleDir = join(dir, 'model');
  await saveBundle(bundleDir, trained.model, {
    options: trained.options,
    backend: trained.backend,
    institutions: trained.institutions,
    toolVersion: 'test',
  });
  const tar = join(dir, 'model.tar');
  execFileSync('tar', ['-cf', tar, '-C', dir, 'model']);
  return { tar, bundleDir, model: trained.model };
}
