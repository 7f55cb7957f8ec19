import { join } from 'node:path';
import { readLabelTable, type LabelTable } from '@fl/evaluation';
import { readExpression, type ExpressionMatrix } from '@fl/formats';
import type { ReferenceDataset } from '@fl/federation';
import { rowsWithoutType, selectCells, subsampleRows, typesOf } from './case-references';
import { SCENARIOS, SUBSAMPLE_SEED, type HardCase } from './hard-cases';

/** What a hard case trains on and is scored against. */
export interface CaseData {
  /** One institution per reference file, cut as the case says. */
  references: ReferenceDataset[];
  query: ExpressionMatrix;
  truth: LabelTable;
  /** The types the references hold, sorted: query cells of any other type are not scored for accuracy. */
  referenceTypes: string[];
}

/** The files a case reads, relative to the datasets folder (checked before anything starts). */
export function caseFiles(c: HardCase): string[] {
  const { query } = SCENARIOS[c.scenario];
  return [
    ...c.references.map((r) => join(c.scenario, 'reference', `${r}.csv`)),
    join(c.scenario, 'query', `${query}.csv`),
    join(c.scenario, 'query', `${query}.labels.tsv`),
  ];
}

/**
 * Reads a case's files and cuts its references: the held-out type removed, or at most
 * `cellsPerType` cells of each type drawn with the seed SUBSAMPLE_SEED + the file's position in
 * the scenario (so each institution's draw is its own and does not depend on the other files).
 */
export async function loadCase(dataRoot: string, c: HardCase): Promise<CaseData> {
  const scenario = SCENARIOS[c.scenario];
  const references: ReferenceDataset[] = [];
  for (const name of c.references) {
    let matrix = await readExpression(join(dataRoot, c.scenario, 'reference', `${name}.csv`), {
      role: 'reference',
    });
    const labels = matrix.labels!;
    if (c.heldOutType !== undefined) matrix = selectCells(matrix, rowsWithoutType(labels, c.heldOutType));
    if (c.cellsPerType !== undefined) {
      const seed = SUBSAMPLE_SEED + scenario.references.indexOf(name);
      matrix = selectCells(matrix, subsampleRows(labels, c.cellsPerType, seed));
    }
    references.push({ name, matrix });
  }
  const queryFile = join(dataRoot, c.scenario, 'query', `${scenario.query}.csv`);
  const query = await readExpression(queryFile, { role: 'query' });
  const truth = await readLabelTable(queryFile.replace(/\.csv$/, '.labels.tsv'), 'truth');
  return {
    references,
    query,
    truth,
    referenceTypes: typesOf(references.flatMap((r) => r.matrix.labels!)),
  };
}
