import { mkdir, rename, writeFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Annotation } from './annotate';

/** Writes a file under a temporary name and renames it, so readers never see half a result. */
export async function writeFileAtomic(path: string, data: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const partial = `${path}.partial-${process.pid}`;
  await writeFile(partial, data);
  await rename(partial, path);
}

/** `cell_id<TAB>label`, one line per query cell in row order: the published result.txt. */
export function formatResultTxt(annotations: readonly Annotation[]): string {
  const lines: string[] = [];
  for (const a of annotations) a.cellIds.forEach((id, i) => lines.push(`${id}\t${a.labels[i]}`));
  return lines.join('\n') + '\n';
}

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** The richer table: cell id, label, confidence, winning institution, query file. */
export function formatPredictionsCsv(annotations: readonly Annotation[]): string {
  const lines = ['cell_id,label,confidence,best_institution,query_file'];
  for (const a of annotations) {
    const file = basename(a.source);
    a.cellIds.forEach((id, i) =>
      lines.push(
        [id, a.labels[i], a.confidence[i].toFixed(6), a.institutions[i], file].map(csvField).join(','),
      ),
    );
  }
  return lines.join('\n') + '\n';
}
