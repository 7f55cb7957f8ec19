import { fileChunks } from './byte-chunks';
import { assertPrintable } from './cell-text';
import { LABEL_COLUMN } from './columns';
import { DelimitedGridParser, type GridHandler } from './delimited-grid';
import { assertUniqueGenes } from './gene-names';
import { InputError } from './input-error';
import { limitError, type ResolvedLimits } from './read-limits';
import { RowBlocks } from './row-blocks';
import type { DatasetRole, ExpressionMatrix, ExpressionSummary, ReadProgress } from './types';

type Format = { delimiter: ',' | '\t'; gzip: boolean };

/**
 * A cells x genes CSV/TSV (optionally gzip-compressed), streamed:
 * `cell_id,<gene 1>,...,<gene n>[,cell_label]`, one line per cell.
 */
export async function readDelimitedExpression(
  path: string,
  format: Format,
  role: DatasetRole,
  progress: ReadProgress,
  limits: ResolvedLimits,
): Promise<ExpressionMatrix> {
  const cellIds: string[] = [];
  const labels: string[] = [];
  let rows: RowBlocks | undefined;
  const { genes, hasLabels } = await scan(path, format, role, progress, limits, {
    header: (genes) => (rows = new RowBlocks(genes.length)),
    row(id, label, values) {
      cellIds.push(id);
      if (label !== undefined) labels.push(label);
      rows!.append(values);
    },
  });
  return {
    source: path,
    cellIds,
    genes,
    values: rows!.toArray(),
    ...(hasLabels ? { labels } : {}),
  };
}

/** The same checks as readDelimitedExpression, keeping counts instead of the matrix. */
export async function summarizeDelimitedExpression(
  path: string,
  format: Format,
  role: DatasetRole,
  progress: ReadProgress,
  limits: ResolvedLimits,
): Promise<ExpressionSummary> {
  const typeCounts = new Map<string, number>();
  const { genes, hasLabels, cells } = await scan(path, format, role, progress, limits, {
    header() {},
    row(_id, label) {
      if (label !== undefined) typeCounts.set(label, (typeCounts.get(label) ?? 0) + 1);
    },
  });
  return {
    source: path,
    cells,
    genes,
    ...(hasLabels ? { typeCounts: Object.fromEntries(typeCounts) } : {}),
  };
}

/** What to do with each validated cell. */
interface CellSink {
  header(genes: string[]): void;
  row(id: string, label: string | undefined, values: Float32Array): void;
}

async function scan(
  path: string,
  format: Format,
  role: DatasetRole,
  progress: ReadProgress,
  limits: ResolvedLimits,
  sink: CellSink,
): Promise<{ genes: string[]; hasLabels: boolean; cells: number }> {
  const { delimiter } = format;
  let genes: string[] = [];
  let hasLabels = false;
  let cells = 0;

  const handler: GridHandler = {
    header(fields, line) {
      const layout = expressionHeader(fields, path, line, role, delimiter);
      genes = layout.genes;
      if (genes.length > limits.maxGenes) {
        throw limitError(limits, 'maxGenes', { file: path, line }, `the number of genes (${genes.length})`);
      }
      hasLabels = layout.labelColumn >= 0;
      sink.header(genes);
      return fields.map((_, c) => c === 0 || c === layout.labelColumn);
    },
    row(text, values, line) {
      cells++;
      if (cells > limits.maxCells) {
        throw limitError(limits, 'maxCells', { file: path, line }, 'the number of cells');
      }
      if (cells * genes.length > limits.maxValues) {
        throw limitError(
          limits,
          'maxValues',
          { file: path, line },
          `the number of values (${cells.toLocaleString('en-US')} cells x ${genes.length.toLocaleString('en-US')} genes so far)`,
        );
      }
      const id = text[0];
      assertPrintable(id, 'cell id', path, line);
      let label: string | undefined;
      if (hasLabels) {
        label = text[1];
        if (role === 'reference' && label.trim() === '') {
          throw new InputError(
            `${path}, line ${line}: cell "${id}" has an empty ${LABEL_COLUMN}; ` +
              'reference files need the cell type of every cell',
            path,
            line,
          );
        }
        assertPrintable(label, LABEL_COLUMN, path, line);
      }
      sink.row(id, label, values);
    },
  };

  const parser = new DelimitedGridParser(path, delimiter, handler, {
    limits,
    // The id and cell_label columns besides the genes.
    columns: { limit: 'maxGenes', noun: 'genes', otherColumns: 2 },
  });
  for await (const chunk of fileChunks(path, format.gzip, progress, limits)) parser.push(chunk);
  const summary = parser.finish();

  if (!summary.headerSeen) {
    throw new InputError(
      `${path}: the file is empty; expected a header line ` +
        `"cell_id${delimiter}<gene 1>${delimiter}...${role === 'reference' ? `${delimiter}${LABEL_COLUMN}` : ''}" ` +
        'followed by one line per cell',
      path,
      1,
    );
  }
  if (summary.rows === 0) {
    throw new InputError(
      `${path}, line ${summary.nextLine}: the file has a header but no cells; expected one line per cell after the header`,
      path,
      summary.nextLine,
    );
  }
  return { genes, hasLabels, cells };
}

interface ExpressionLayout {
  genes: string[];
  /** Column of `cell_label`, or -1. */
  labelColumn: number;
}

/** Reads the header: column 0 is the cell id, `cell_label` anywhere after it, genes the rest. */
function expressionHeader(
  fields: string[],
  path: string,
  line: number,
  role: DatasetRole,
  delimiter: string,
): ExpressionLayout {
  const other = delimiter === ',' ? 'tab' : 'comma';
  if (fields.length < 2) {
    throw new InputError(
      `${path}, line ${line}: the header has a single column; expected "cell_id${delimiter}<gene 1>${delimiter}..." ` +
        `(is the file ${other}-separated? .csv files must use commas, .tsv/.txt files tabs)`,
      path,
      line,
    );
  }
  const labelColumns: number[] = [];
  for (let c = 1; c < fields.length; c++) if (fields[c].trim() === LABEL_COLUMN) labelColumns.push(c);
  if (labelColumns.length > 1) {
    throw new InputError(
      `${path}, line ${line}: the header has ${labelColumns.length} "${LABEL_COLUMN}" columns ` +
        `(columns ${labelColumns.map((c) => c + 1).join(', ')}); expected one`,
      path,
      line,
    );
  }
  const labelColumn = labelColumns.length === 1 ? labelColumns[0] : -1;
  if (role === 'reference' && labelColumn < 0) {
    throw new InputError(
      `${path}, line ${line}: no "${LABEL_COLUMN}" column in the header; ` +
        `reference files need a \`${LABEL_COLUMN}\` column (the cell type of each cell)`,
      path,
      line,
    );
  }
  const geneColumns: number[] = [];
  for (let c = 1; c < fields.length; c++) if (c !== labelColumn) geneColumns.push(c);
  if (geneColumns.length === 0) {
    throw new InputError(`${path}, line ${line}: the header names no genes`, path, line);
  }
  const genes = geneColumns.map((c) => fields[c]);
  assertUniqueGenes(genes, path, (i) => `column ${geneColumns[i] + 1}`, line);
  return { genes, labelColumn };
}
