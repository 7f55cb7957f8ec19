import { InputError } from '@fl/formats';
import type { LabelTable } from './label-table';

/** Labels from a file, or built in memory (id -> label). */
export type LabelSource = LabelTable | ReadonlyMap<string, string>;

export interface MatchedCells {
  ids: string[];
  truth: string[];
  predicted: string[];
}

const SHOWN = 5;

/**
 * Pairs each true label with its prediction by cell id, in the truth's order. Strict: both sides
 * must cover exactly the same cells, otherwise the error lists (up to 5) ids missing on each side.
 */
export function matchCells(predictions: LabelSource, truth: LabelSource): MatchedCells {
  const pred = toMap(predictions, 'predictions');
  const tru = toMap(truth, 'truth');
  const noPrediction = [...tru.keys()].filter((id) => !pred.has(id));
  const noTruth = [...pred.keys()].filter((id) => !tru.has(id));
  if (noPrediction.length > 0 || noTruth.length > 0) {
    const problems: string[] = [];
    if (noPrediction.length > 0)
      problems.push(`${noPrediction.length} truth cells have no prediction (${sample(noPrediction)})`);
    if (noTruth.length > 0)
      problems.push(`${noTruth.length} predicted cells are not in the truth (${sample(noTruth)})`);
    throw new InputError(
      `predictions (${describe(predictions)}) and truth (${describe(truth)}) must list the same cells: ${problems.join('; ')}`,
      sourceOf(truth),
    );
  }
  const ids = [...tru.keys()];
  if (ids.length === 0) throw new InputError(`truth (${describe(truth)}) has no cells`, sourceOf(truth));
  return { ids, truth: ids.map((id) => tru.get(id)!), predicted: ids.map((id) => pred.get(id)!) };
}

function toMap(table: LabelSource, what: string): Map<string, string> {
  const entries: [string, string][] = isTable(table)
    ? table.ids.map((id, i) => [id, table.labels[i]])
    : [...table.entries()];
  const map = new Map<string, string>();
  for (const [rawId, rawLabel] of entries) {
    const id = rawId.trim();
    const label = rawLabel.trim(); // labels are compared exactly, but never on stray whitespace
    if (label === '')
      throw new InputError(`${what} (${describe(table)}): empty label for cell ${JSON.stringify(id)}`);
    if (map.has(id))
      throw new InputError(`${what} (${describe(table)}): duplicate cell id ${JSON.stringify(id)}`);
    map.set(id, label);
  }
  return map;
}

function isTable(t: LabelSource): t is LabelTable {
  return !(t instanceof Map) && 'ids' in t;
}

/** The file a label source was read from, if any. */
export function sourceOf(t: LabelSource): string | undefined {
  return isTable(t) ? t.source : undefined;
}

function describe(t: LabelSource): string {
  return sourceOf(t) ?? 'in memory';
}

function sample(ids: string[]): string {
  const shown = ids.slice(0, SHOWN).map((id) => JSON.stringify(id));
  return `e.g. ${shown.join(', ')}${ids.length > SHOWN ? ', …' : ''}`;
}
