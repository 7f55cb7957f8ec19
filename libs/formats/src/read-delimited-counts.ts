import { fileChunks } from './byte-chunks';
import { assertPrintable } from './cell-text';
import { DelimitedGridParser, type GridHandler } from './delimited-grid';
import { InputError } from './input-error';
import { limitError, resolveLimits, type ResolvedLimits } from './read-limits';
import { GrowableArray, transposeCsr } from './sparse';
import type { ReadProgress, SparseCounts } from './types';

/**
 * Raw counts as genes x cells text (`gene,<cell 1>,...,<cell m>`, one line per
 * gene): the published preprocessing input. Each gene line's nonzeros are kept
 * (gene-major, i.e. CSC of the cells x genes matrix) and transposed once at the
 * end, so no dense genes x cells array ever exists.
 */
export async function readDelimitedCounts(
  path: string,
  format: { delimiter: ',' | '\t'; gzip: boolean },
  progress: ReadProgress = {},
  limits: ResolvedLimits = resolveLimits(),
): Promise<SparseCounts> {
  const { delimiter } = format;
  let cellIds: string[] = [];
  const genes: string[] = [];
  const genePtr: number[] = [0];
  const cells = new GrowableArray((n) => new Int32Array(n));
  const values = new GrowableArray((n) => new Float32Array(n));

  const handler: GridHandler = {
    header(fields, line) {
      if (fields.length < 2) {
        throw new InputError(
          `${path}, line ${line}: the header has a single column; expected "gene${delimiter}<cell 1>${delimiter}..." ` +
            `(is the file ${delimiter === ',' ? 'tab' : 'comma'}-separated?)`,
          path,
          line,
        );
      }
      cellIds = fields.slice(1);
      cellIds.forEach((id, c) => assertPrintable(id, 'cell id', path, line, `column ${c + 2}`));
      return fields.map((_, c) => c === 0);
    },
    row(text, row, line) {
      if (genes.length >= limits.maxGenes) {
        throw limitError(limits, 'maxGenes', { file: path, line }, 'the number of genes (lines)');
      }
      genes.push(text[0]);
      for (let c = 0; c < row.length; c++) {
        const v = row[c];
        if (v !== 0) {
          cells.push(c);
          values.push(v);
        }
      }
      genePtr.push(cells.length);
      if (cells.length > limits.maxValues) {
        throw limitError(limits, 'maxValues', { file: path, line }, 'the number of nonzero counts so far');
      }
    },
  };

  const parser = new DelimitedGridParser(path, delimiter, handler, {
    limits,
    columns: { limit: 'maxCells', noun: 'cells', otherColumns: 1 },
  });
  for await (const chunk of fileChunks(path, format.gzip, progress, limits)) parser.push(chunk);
  const summary = parser.finish();
  if (!summary.headerSeen) {
    throw new InputError(
      `${path}: the file is empty; expected a header line "gene${delimiter}<cell 1>${delimiter}..." ` +
        'followed by one line per gene (raw counts, genes x cells)',
      path,
      1,
    );
  }
  if (summary.rows === 0) {
    throw new InputError(
      `${path}, line ${summary.nextLine}: the file has a header but no genes; expected one line per gene after the header`,
      path,
      summary.nextLine,
    );
  }
  const byGene = { indptr: Float64Array.from(genePtr), indices: cells.toArray(), data: values.toArray() };
  const csr = transposeCsr(genes.length, cellIds.length, byGene);
  return { source: path, cellIds, genes, ...csr };
}
