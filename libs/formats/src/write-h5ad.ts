import { rename, rm, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { loadH5wasm, type Dataset, type Group } from './h5-file';
import { InputError } from './input-error';

/** What `writeH5ad` stores: a cells x genes matrix (sparse or dense) and its annotations. */
export interface H5adContent {
  cellIds: string[];
  genes: string[];
  /** X as CSR (rows = cells); `indptr` has cellIds.length + 1 entries. */
  csr?: { indptr: ArrayLike<number>; indices: Int32Array; data: Float32Array };
  /** X dense, row-major, cellIds.length * genes.length values. */
  dense?: Float32Array;
  /** Per-cell columns: text becomes a string array, numbers a float64 column. */
  obs?: Record<string, string[] | Float64Array>;
  /** Scalars describing the file (e.g. how it was made). */
  uns?: Record<string, string | number>;
}

/**
 * Writes an AnnData (.h5ad) file that anndata / scanpy read, following the
 * anndata on-disk spec 0.1/0.2 (what anndata >= 0.8 writes).
 *
 * The file is written to `path + '.partial'` and renamed when complete, so a
 * failed or interrupted write never leaves a half file under the real name.
 */
export async function writeH5ad(path: string, m: H5adContent): Promise<void> {
  validate(m);
  const target = resolve(path);
  const partial = `${target}.partial`;
  // Checked here because libhdf5 would only print a page of diagnostics.
  if (!(await isFolder(dirname(target)))) {
    throw new InputError(`${path}: cannot write there, the folder ${dirname(target)} does not exist`, path);
  }
  const h5 = await loadH5wasm();
  const file = new h5.File(partial, 'w');
  let open = file.file_id >= 0n;
  try {
    if (!open) throw new Error(`${path}: could not create ${partial}`);
    encoding(file, 'anndata', '0.1.0');
    writeX(file, m);
    writeDataframe(file.create_group('obs'), m.cellIds, m.obs ?? {});
    writeDataframe(file.create_group('var'), m.genes, {});
    writeUns(file.create_group('uns'), m.uns ?? {});
    for (const name of ['obsm', 'varm', 'obsp', 'varp', 'layers'])
      encoding(file.create_group(name), 'dict', '0.1.0');
    file.close();
    open = false;
    await rename(partial, target);
  } catch (err) {
    if (open) file.close();
    await rm(partial, { force: true });
    throw err;
  }
}

async function isFolder(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

function validate(m: H5adContent): void {
  const cells = m.cellIds.length;
  const genes = m.genes.length;
  if ((m.csr === undefined) === (m.dense === undefined)) {
    throw new RangeError('writeH5ad: give exactly one of csr or dense');
  }
  if (m.dense && m.dense.length !== cells * genes) {
    throw new RangeError(`writeH5ad: dense has ${m.dense.length} values, expected ${cells} x ${genes}`);
  }
  if (m.csr) {
    const { indptr, indices, data } = m.csr;
    if (indptr.length !== cells + 1) {
      throw new RangeError(`writeH5ad: csr.indptr has ${indptr.length} entries, expected ${cells + 1}`);
    }
    if (indices.length !== data.length || indptr[cells] !== data.length) {
      throw new RangeError(
        'writeH5ad: csr.indices, csr.data and csr.indptr disagree on the number of values',
      );
    }
  }
  for (const [name, column] of Object.entries(m.obs ?? {})) {
    if (column.length !== cells) {
      throw new RangeError(`writeH5ad: obs column "${name}" has ${column.length} values for ${cells} cells`);
    }
    checkName(name);
  }
  for (const name of Object.keys(m.uns ?? {})) checkName(name);
}

/** HDF5 uses `/` as path separator; `_index` is taken by the dataframe index. */
function checkName(name: string): void {
  if (name === '' || name.includes('/') || name === '_index' || name === '.') {
    throw new RangeError(`writeH5ad: "${name}" cannot be a column or uns name`);
  }
}

function encoding(obj: Group | Dataset, type: string, version: string): void {
  obj.create_attribute('encoding-type', type);
  obj.create_attribute('encoding-version', version);
}

function writeX(file: Group, m: H5adContent): void {
  const shape = [m.cellIds.length, m.genes.length];
  if (m.dense) {
    const x = file.create_dataset({ name: 'X', data: m.dense, shape, dtype: '<f' });
    encoding(x, 'array', '0.2.0');
    return;
  }
  const { indptr, indices, data } = m.csr!;
  const x = file.create_group('X');
  encoding(x, 'csr_matrix', '0.1.0');
  x.create_attribute('shape', BigInt64Array.from(shape, BigInt));
  x.create_dataset({ name: 'data', data, dtype: '<f' });
  x.create_dataset({ name: 'indices', data: indices, dtype: '<i' });
  // int64 (h5wasm dtype "<q") as scipy uses for large matrices; indptr may exceed 2^31 values.
  x.create_dataset({
    name: 'indptr',
    data: BigInt64Array.from({ length: indptr.length }, (_, i) => BigInt(indptr[i])),
    dtype: '<q',
  });
}

function writeDataframe(
  group: Group,
  index: string[],
  columns: Record<string, string[] | Float64Array>,
): void {
  encoding(group, 'dataframe', '0.2.0');
  group.create_attribute('_index', '_index');
  const names = Object.keys(columns);
  // anndata needs `column-order` even when empty. An empty variable-length string
  // array makes h5wasm call H5Awrite with a NULL buffer (libhdf5 prints an error
  // and the write fails); an empty float64 array writes cleanly and is exactly
  // what h5py makes of `[]`, i.e. what anndata itself writes.
  if (names.length === 0) group.create_attribute('column-order', new Float64Array(0), [0], '<d');
  else group.create_attribute('column-order', names, [names.length], 'S');
  writeStrings(group, '_index', index);
  for (const name of names) {
    const column = columns[name];
    if (column instanceof Float64Array) {
      const ds = group.create_dataset({ name, data: column, dtype: '<d' });
      encoding(ds, 'array', '0.2.0');
    } else writeStrings(group, name, column);
  }
}

function writeStrings(group: Group, name: string, values: string[]): void {
  const ds = group.create_dataset({ name, data: values, shape: [values.length], dtype: 'S' });
  encoding(ds, 'string-array', '0.2.0');
}

function writeUns(group: Group, uns: Record<string, string | number>): void {
  encoding(group, 'dict', '0.1.0');
  for (const [name, value] of Object.entries(uns)) {
    if (typeof value === 'string') {
      encoding(group.create_dataset({ name, data: value, dtype: 'S' }), 'string', '0.2.0');
    } else {
      const dtype = Number.isInteger(value) && Math.abs(value) < 2 ** 31 ? '<i' : '<d';
      encoding(group.create_dataset({ name, data: value, dtype }), 'numeric-scalar', '0.2.0');
    }
  }
}
