import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { readExpression, type ExpressionMatrix } from '@fl/formats';
import type { DatasetSource } from '@fl/platform';
import { downloadVerified } from '@fl/storage';

/**
 * Reads one of the institution's reference datasets: an uploaded one through the presigned URL
 * its job carries (sha256-checked), or a site-local file, which must lie inside SITE_DATA_DIR
 * (the only local data this worker may read).
 */
export async function loadDataset(
  source: DatasetSource,
  siteDataDir: string | undefined,
): Promise<ExpressionMatrix> {
  if (source.kind === 'site') {
    if (!siteDataDir)
      throw new Error(`dataset ${source.datasetId} is site-local but SITE_DATA_DIR is not set`);
    const path = resolve(siteDataDir, source.path);
    const rel = relative(resolve(siteDataDir), path);
    if (rel.startsWith('..') || resolve(rel) === rel) {
      throw new Error(`dataset ${source.datasetId}: ${source.path} is outside SITE_DATA_DIR`);
    }
    return readExpression(path, { role: 'reference' });
  }
  const data = await downloadVerified(source.object.url, source.object.sha256);
  // The readers pick the format from the file name, so the download keeps the upload's name.
  const dir = await mkdtemp(join(tmpdir(), 'scp-dataset-'));
  try {
    const path = join(dir, basename(source.fileName));
    await writeFile(path, data);
    return await readExpression(path, { role: 'reference' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
