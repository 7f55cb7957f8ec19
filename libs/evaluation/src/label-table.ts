import { readFile } from 'node:fs/promises';
import { InputError } from '@fl/formats';

/** A `cell_id<TAB>label` file (predictions, e.g. `result.txt`, or the true labels), in file order. */
export interface LabelTable {
  /** Path it was read from; named in every error message. */
  source: string;
  ids: string[];
  /** Trimmed labels, `labels[i]` belongs to `ids[i]`. */
  labels: string[];
}

export type LabelTableKind = 'predictions' | 'truth';

/**
 * Reads a two-column, tab-separated label file without header (ALGORITHM.md §8). A first line
 * starting with `cell_id` is taken as a header and skipped; trailing empty lines are ignored.
 * Ids and labels are trimmed. Errors are `InputError`s naming the file and line.
 */
export async function readLabelTable(path: string, what: LabelTableKind): Promise<LabelTable> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const reason =
      (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message;
    throw new InputError(`${path}: cannot read the ${what} file: ${reason}`, path);
  }
  return parseLabelTable(text, path, what);
}

/** The parsing half of `readLabelTable`, for text already in memory. */
export function parseLabelTable(text: string, source: string, what: LabelTableKind): LabelTable {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1].trim() === '') lines.pop();
  const fail = (line: number, message: string) =>
    new InputError(`${source}:${line}: ${message}`, source, line);
  if (lines.length === 0) throw new InputError(`${source}: the ${what} file is empty`, source);

  const ids: string[] = [];
  const labels: string[] = [];
  const lineOf = new Map<string, number>();
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (line === 1 && raw.startsWith('cell_id')) return;
    const fields = raw.split('\t');
    if (fields.length !== 2) {
      const hint = fields.length === 1 && /[,; ]/.test(raw) ? ' (the separator must be a tab)' : '';
      throw fail(line, `expected 2 tab-separated columns (cell_id, label), found ${fields.length}${hint}`);
    }
    const id = fields[0].trim();
    const label = fields[1].trim();
    if (id === '') throw fail(line, 'empty cell id');
    if (label === '') throw fail(line, `empty label for cell ${JSON.stringify(id)}`);
    const seen = lineOf.get(id);
    if (seen !== undefined)
      throw fail(line, `duplicate cell id ${JSON.stringify(id)} (first on line ${seen})`);
    lineOf.set(id, line);
    ids.push(id);
    labels.push(label);
  });
  if (ids.length === 0) throw new InputError(`${source}: the ${what} file has a header but no cells`, source);
  return { source, ids, labels };
}
