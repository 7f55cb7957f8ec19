import { InputError } from '@fl/formats';

/**
 * The rules a reference's cell types must meet to train (the N-pair loss needs two
 * cells of a type). One definition for every place a reference enters: the command
 * line and workers before training, the API when a reference is uploaded, so a file
 * the upload accepts does not fail a federation's first round later.
 */
export interface ReferenceTypeRules {
  /** Train on types with >= 2 cells and keep singleton types for landmarks only (published behaviour). */
  allowSingletonTypes: boolean;
  /** How the caller allows singleton types, for the message. */
  howToAllow?: string;
}

/**
 * Checks cells per type (`counts[i]` cells of `types[i]`); throws an InputError naming
 * `source` and the offending types.
 */
export function checkReferenceTypes(
  source: string,
  types: readonly string[],
  counts: readonly number[],
  rules: ReferenceTypeRules,
): void {
  const singletons = types.filter((_, i) => counts[i] < 2);
  if (types.length > 0 && singletons.length === types.length) {
    throw new InputError(
      `${source}: every cell type has a single cell (${singletons.slice(0, 5).join(', ')}); ` +
        'training needs at least one cell type with 2 or more cells',
      source,
    );
  }
  if (singletons.length > 0 && !rules.allowSingletonTypes) {
    throw new InputError(
      `${source}: cell type${singletons.length > 1 ? 's' : ''} ${singletons.map((s) => `"${s}"`).join(', ')} ` +
        'ha' +
        (singletons.length > 1 ? 've' : 's') +
        ' only one cell; the N-pair loss needs two cells of a type. Add cells, remove the type, or ' +
        `${rules.howToAllow ?? 'pass --allow-singleton-types'} to train without it and keep it for landmarks only ` +
        '(published behaviour).',
      source,
    );
  }
}

/** The same rules from a `{ type: cells }` summary (an upload), types in sorted order as training sees them. */
export function checkReferenceTypeCounts(
  source: string,
  typeCounts: Readonly<Record<string, number>>,
  rules: ReferenceTypeRules,
): void {
  const types = Object.keys(typeCounts).sort();
  checkReferenceTypes(
    source,
    types,
    types.map((t) => typeCounts[t]),
    rules,
  );
}
