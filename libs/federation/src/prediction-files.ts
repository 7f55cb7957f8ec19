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

// eslint-disable-next-line no-control-regex -- control characters are what is replaced
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * `cell_id<TAB>label`, one line per query cell in row order: the published result.txt.
 * The readers refuse control characters in ids and labels; should one come from
 * elsewhere, it is shown as U+FFFD rather than allowed to split or shift a line.
 */
export function formatResultTxt(annotations: readonly Annotation[]): string {
  const lines: string[] = [];
  for (const a of annotations) {
    a.cellIds.forEach((id, i) => lines.push(`${tsvField(id)}\t${tsvField(a.labels[i])}`));
  }
  return lines.join('\n') + '\n';
}

function tsvField(value: string): string {
  return value.replace(CONTROL, '\ufffd');
}

/** A first character that makes spreadsheets read a cell as a formula (OWASP, CSV injection). */
const FORMULA_START = /^[=+\-@\t\r]/;
const PLAIN_NUMBER = /^-?\d+(\.\d+)?$/;

/**
 * One RFC 4180 field, safe to open in a spreadsheet: a cell starting like a formula
 * gets a leading apostrophe (shown as text, not evaluated), then the field is quoted
 * when it holds a quote, comma or line break.
 */
function csvField(value: string): string {
  // A plain number (a negative correlation) cannot be a formula and stays a number.
  const text = FORMULA_START.test(value) && !PLAIN_NUMBER.test(value) ? `'${value}` : value;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
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
