import { InputError } from './input-error';
import {
  child,
  isDataset,
  isGroup,
  type Dataset,
  decodeStrings,
  isNumericDataset,
  isStringDataset,
  stringAttr,
  type H5File,
} from './h5-file';

/**
 * The dataframe parts of an AnnData file: `obs` (one row per cell) and `var`
 * (one row per gene), their index (cell ids / gene names) and the `cell_label`
 * column, in every on-disk encoding anndata has used since 0.7.
 */

/** The index of `obs` or `var`: the dataset named by the group's `_index` attribute. */
export function readIndex(file: H5File, path: string, which: 'obs' | 'var'): string[] {
  const what = which === 'obs' ? 'cell ids' : 'gene names';
  const frame = child(file, which);
  if (frame === undefined) throw new InputError(`${path}: no "${which}" in the file, so no ${what}`, path);
  if (isDataset(frame)) throw oldDataframe(path, which);
  const named = stringAttr(frame, '_index');
  const candidates = [named, '_index', 'index'].filter((n): n is string => n !== undefined);
  for (const name of candidates) {
    const ds = child(frame, name);
    if (isDataset(ds)) return decodeStrings(ds.value ?? []);
  }
  throw new InputError(
    `${path}: "${which}" has no index dataset (looked for ${candidates.map((c) => `${which}/${c}`).join(', ')}), ` +
      `so no ${what}`,
    path,
  );
}

/**
 * The `obs` column `name` as text per cell (null where missing), or undefined
 * when there is no such column. Encodings: a `categorical` group (`categories`
 * + `codes`, code -1 = missing); a plain string array; a `nullable-string-array`
 * group (`values` + `mask`); or the old (anndata < 0.8) codes dataset whose
 * categories live in `obs/__categories/<name>`.
 */
export function readObsText(file: H5File, path: string, name: string): (string | null)[] | undefined {
  const obs = child(file, 'obs');
  if (!isGroup(obs)) return undefined;
  const column = child(obs, name);
  if (column === undefined) return undefined;
  const where = `obs/${name}`;

  if (isGroup(column)) {
    const keys = column.keys();
    if (keys.includes('codes') && keys.includes('categories')) {
      return decodeCategorical(
        column.get('codes') as Dataset,
        column.get('categories') as Dataset,
        path,
        where,
      );
    }
    if (keys.includes('values') && keys.includes('mask')) {
      const values = decodeStrings((column.get('values') as Dataset).value ?? []);
      const mask = (column.get('mask') as Dataset).value as ArrayLike<number>;
      return values.map((v, i) => (mask[i] ? null : v));
    }
    const encoding = stringAttr(column, 'encoding-type') ?? 'unknown';
    throw new InputError(`${path}: ${where} has an encoding this reader does not know ("${encoding}")`, path);
  }

  if (isStringDataset(column)) return decodeStrings(column.value ?? []);
  if (!isNumericDataset(column)) {
    throw new InputError(`${path}: ${where} is neither text nor categorical`, path);
  }
  const categories = child(obs, '__categories');
  const old = isGroup(categories) ? child(categories, name) : undefined;
  if (isDataset(old)) return decodeCategorical(column, old, path, where);
  // Numbers with no categories: the numbers are the labels (e.g. cluster ids).
  return decodeStrings(column.value ?? []);
}

function decodeCategorical(
  codes: Dataset,
  categories: Dataset,
  path: string,
  where: string,
): (string | null)[] {
  const names = decodeStrings(categories.value ?? []);
  const raw = codes.value as ArrayLike<number | bigint>;
  const out: (string | null)[] = new Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const code = Number(raw[i]);
    if (code < 0) out[i] = null;
    else if (code >= names.length) {
      throw new InputError(
        `${path}: ${where} row ${i + 1} has category code ${code} but there are only ${names.length} categories`,
        path,
      );
    } else out[i] = names[code];
  }
  return out;
}

function oldDataframe(path: string, which: string): InputError {
  return new InputError(
    `${path}: "${which}" is stored as a table (anndata < 0.7); open and re-save the file with a current anndata ` +
      '(anndata.read_h5ad(f).write_h5ad(f))',
    path,
  );
}
