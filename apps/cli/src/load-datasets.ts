import { stat } from 'node:fs/promises';
import {
  datasetName,
  listDataFiles,
  readExpression,
  type DatasetRole,
  type ExpressionMatrix,
} from '@fl/formats';
import type { Reporter } from './reporter';

export interface LoadedDataset {
  name: string;
  path: string;
  matrix: ExpressionMatrix;
}

/**
 * Reads every data file of a folder (or the given files), in file-name order, with a
 * progress bar per file.
 */
export async function loadDatasets(
  paths: readonly string[],
  role: DatasetRole,
  reporter: Reporter,
): Promise<LoadedDataset[]> {
  const files: string[] = [];
  for (const p of paths) {
    // Truth tables (`<query>.labels.tsv`, as in ../shared/datasets) often sit beside queries.
    const found = await listDataFiles(p);
    const labelTables = found.filter((f) => f.endsWith('.labels.tsv'));
    for (const f of labelTables) reporter.info(`  skipping ${f}: a label table, not expression data`);
    files.push(...found.filter((f) => !f.endsWith('.labels.tsv')));
  }
  const loaded: LoadedDataset[] = [];
  for (const path of files) {
    const size = (await stat(path)).size;
    const mb = Math.max(1, Math.round(size / 1e6));
    const bar = reporter.progress(`reading ${datasetName(path)}`, mb, 'MB');
    try {
      const matrix = await readExpression(path, {
        role,
        onProgress: (done, total) => bar.update(Math.round((done / Math.max(total, 1)) * mb)),
      });
      bar.update(mb);
      loaded.push({ name: datasetName(path), path, matrix });
    } finally {
      bar.stop();
    }
    const m = loaded[loaded.length - 1].matrix;
    reporter.info(
      `  ${datasetName(path)}: ${m.cellIds.length} cells x ${m.genes.length} genes` +
        (m.labels ? `, ${new Set(m.labels).size} cell types` : ''),
    );
  }
  return loaded;
}
