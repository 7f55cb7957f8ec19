import { join } from 'node:path';
import { EXAMPLES, makeBundleTar } from '../../api/support/model-bundle';

export { EXAMPLES };
export const QUERY_FILE = join(EXAMPLES, 'test', 'pbmc_10x_3p_v3.csv.gz');
export const TRAIN_FILE = join(EXAMPLES, 'train', 'pbmc3k_10x_v1.csv.gz');

/**
 * A reference small enough to inline: 4 cells, 3 genes, 2 types of 2 cells each (an upload with a
 * single-cell type is refused, as training would refuse it).
 */
export const TINY_REFERENCE = [
  'cell_id,CD3E,MS4A1,cell_label,LYZ',
  'c1,1.2,0,T cell,0.1',
  'c2,0,2.1,B cell,0',
  'c3,0.9,0,T cell,0',
  'c4,0,1.7,B cell,0.2',
  '',
].join('\n');

/**
 * A small real model bundle (the command line's `--model-dir` folder, trained in-process on the
 * example references) and its tar: the api tests' fixture. Returns the folder and the .tar path.
 */
export async function makeBundle(dir: string): Promise<{ bundleDir: string; tar: string }> {
  const { bundleDir, tar } = await makeBundleTar(dir);
  return { bundleDir, tar };
}
