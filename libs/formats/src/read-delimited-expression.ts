import { fileChunks } from './byte-chunks';
import { LABEL_COLUMN } from './columns';
import { DelimitedGridParser, type GridHandler } from './delimited-grid';
import { assertUniqueGenes } from './gene-names';
import { InputError } from './input-error';
import { RowBlocks } from './row-blocks';
import type { DatasetRole, ExpressionMatrix, ReadProgress } from './types';

/**
 * A cells x genes CSV/TSV (optionally gzip-compressed), streamed:
 * `cell_id,<gene 1>,...,<gene n>[,cell_label]`, one line per cell.
 */
export async function readDelimitedExpression(
  path: string,
  format: { delimiter: ',' | '\t'; gzip: boolean },
  role: DatasetRole,
  progress: ReadProgress = {},
): Promise<ExpressionMatrix> {
  const { delimiter } = format;
  const cellIds: string[] = [];
  const labels: string[] = [];
  let genes: string[] = [];
  let hasLabels = false;
  let rows: RowBlocks | undefined;

  const handler: GridHandler = {
    header(fields, line) {
      const layout = expressionHeader(fields, path, line, role, delimiter);
      genes = layout.genes;
      hasLabels = layout.labelColumn >= 0;
      rows = new RowBlocks(genes.length);
      return fields.map((_, c) => c === 0 || c === layout.labelColumn);
    },
    row(text, values, line) {
      cellIds.push(text[0]);
      if (hasLabels) {
        const label = text[1];
        if (role === 'reference' && label.trim() === '') {
          throw new InputError(
            `${path}, line ${line}: cell "${text[0]}" has an empty ${LABEL_COLUMN}; ` +
              'reference files need the cell type of every cell',
            path,
            line,
          );
        }
        labels.push(label);
      }
      rows!.append(values);
    },
  };

  const parser = new DelimitedGridParser(path, delimiter, handler);
  for await (const chunk of fileChunks(path, format.gzip, progress)) parser.push(chunk);
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
  return {
    source: path,
    cellIds,
    genes,
    values: rows!.toArray(),
    ...(hasLabels ? { labels } : {}),
  };
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
