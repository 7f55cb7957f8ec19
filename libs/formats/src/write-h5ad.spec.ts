import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readExpression } from './read-expression';
import { readRawCounts } from './read-raw-counts';
import { writeH5ad, type H5adContent } from './write-h5ad';

const PYTHON = '/usr/bin/python3';
const hasAnndata = spawnSync(PYTHON, ['-c', 'import anndata'], { stdio: 'ignore' }).status === 0;

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'formats-write-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** 3 cells x 4 genes; cell 2 is empty. */
const SPARSE: H5adContent = {
  cellIds: ['AAAC-1', 'AAAG-1', 'ÅÄÖ-1'],
  genes: ['CD3E', 'MS4A1', 'MT-CO1', 'LYZ'],
  csr: {
    indptr: Float64Array.from([0, 2, 2, 5]),
    indices: Int32Array.from([0, 3, 0, 1, 2]),
    data: Float32Array.from([1.5, 2, 0.25, 7, 3]),
  },
  obs: { cell_label: ['T cell', 'B cell', 'T cell'], score: Float64Array.from([0.5, 1, 0.75]) },
  uns: { generator: 'scprivacy test', target_sum: 10000, ratio: 0.5 },
};
const SPARSE_DENSE = [
  [1.5, 0, 0, 2],
  [0, 0, 0, 0],
  [0.25, 7, 3, 0],
];

/** What python's anndata sees in a file. */
function readWithAnndata(path: string): {
  shape: number[];
  obs_names: string[];
  var_names: string[];
  X: number[][];
  sparse: boolean;
  obs: Record<string, (string | number)[]>;
  uns: Record<string, string | number>;
} {
  const code = [
    'import anndata, json, sys',
    'a = anndata.read_h5ad(sys.argv[1])',
    "X = a.X.toarray() if hasattr(a.X, 'toarray') else a.X",
    'print(json.dumps({',
    "  'shape': list(a.shape), 'obs_names': list(a.obs_names), 'var_names': list(a.var_names),",
    "  'X': X.tolist(), 'sparse': hasattr(a.X, 'toarray'),",
    "  'obs': {c: [v.item() if hasattr(v, 'item') else v for v in a.obs[c]] for c in a.obs.columns},",
    "  'uns': {k: (v.item() if hasattr(v, 'item') else v) for k, v in a.uns.items()},",
    '}))',
  ].join('\n');
  const run = spawnSync(PYTHON, ['-c', code, path], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`python anndata failed on ${path}:\n${run.stderr}`);
  return JSON.parse(run.stdout);
}

const interop = hasAnndata
  ? 'should write files that python anndata reads'
  : `should write files that python anndata reads (SKIPPED: ${PYTHON} has no anndata module; CI installs python3-anndata)`;

describe('writeH5ad', () => {
  it('should round-trip a CSR matrix, obs columns and labels through our readers', async () => {
    const path = join(tmp, 'sparse.h5ad');
    await writeH5ad(path, SPARSE);
    const m = await readExpression(path, { role: 'reference' });
    expect(m.cellIds).toEqual(SPARSE.cellIds);
    expect(m.genes).toEqual(SPARSE.genes);
    expect(Array.from(m.values)).toEqual(SPARSE_DENSE.flat());
    expect(m.labels).toEqual(SPARSE.obs!.cell_label);
    const counts = await readRawCounts(path);
    expect(counts.indptr).toEqual(SPARSE.csr!.indptr);
    expect(counts.indices).toEqual(SPARSE.csr!.indices);
    expect(counts.data).toEqual(SPARSE.csr!.data);
  });

  it('should round-trip a dense matrix without obs columns', async () => {
    const path = join(tmp, 'dense.h5ad');
    const values = Float32Array.from([0, 1, 2.5, 3, 0, 4]);
    await writeH5ad(path, { cellIds: ['a', 'b'], genes: ['G1', 'G2', 'G3'], dense: values });
    const m = await readExpression(path, { role: 'query' });
    expect(m.values).toEqual(values);
    expect(m.labels).toBeUndefined();
  });

  it.skipIf(!hasAnndata)(interop, async () => {
    const sparse = join(tmp, 'interop-sparse.h5ad');
    await writeH5ad(sparse, SPARSE);
    const a = readWithAnndata(sparse);
    expect(a.shape).toEqual([3, 4]);
    expect(a.obs_names).toEqual(SPARSE.cellIds);
    expect(a.var_names).toEqual(SPARSE.genes);
    expect(a.sparse).toBe(true);
    expect(a.X).toEqual(SPARSE_DENSE);
    expect(a.obs).toEqual({ cell_label: ['T cell', 'B cell', 'T cell'], score: [0.5, 1, 0.75] });
    expect(a.uns).toEqual({ generator: 'scprivacy test', target_sum: 10000, ratio: 0.5 });

    // Dense X, and obs / var with no columns: the empty `column-order` must be valid.
    const dense = join(tmp, 'interop-dense.h5ad');
    await writeH5ad(dense, {
      cellIds: ['a', 'b'],
      genes: ['G1', 'G2'],
      dense: Float32Array.from([1, 0, 0, 2.5]),
    });
    const d = readWithAnndata(dense);
    expect(d).toMatchObject({
      shape: [2, 2],
      obs_names: ['a', 'b'],
      sparse: false,
      X: [
        [1, 0],
        [0, 2.5],
      ],
      obs: {},
    });
  });

  it('should leave neither a half file nor a .partial behind when writing fails', async () => {
    const path = join(tmp, 'failing.h5ad');
    await writeFile(path, 'previous content');
    // A bigint where a number belongs makes h5wasm throw after X and obs are written.
    const bad = { ...SPARSE, uns: { n: 1n as unknown as number } };
    await expect(writeH5ad(path, bad)).rejects.toThrow();
    expect(await readFile(path, 'utf8')).toBe('previous content');
    expect((await readdir(tmp)).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });

  it('should reject inconsistent input before touching the disk', async () => {
    const path = join(tmp, 'never.h5ad');
    await expect(writeH5ad(path, { cellIds: ['a'], genes: ['G'] })).rejects.toThrow(
      /exactly one of csr or dense/,
    );
    await expect(
      writeH5ad(path, { cellIds: ['a'], genes: ['G'], dense: new Float32Array(2) }),
    ).rejects.toThrow(/dense has 2 values, expected 1 x 1/);
    await expect(writeH5ad(path, { ...SPARSE, obs: { cell_label: ['x'] } })).rejects.toThrow(
      /obs column "cell_label" has 1 values for 3 cells/,
    );
    expect((await readdir(tmp)).includes('never.h5ad')).toBe(false);
  });

  it('should say so when the target folder does not exist', async () => {
    const path = join(tmp, 'no-such-folder', 'x.h5ad');
    await expect(writeH5ad(path, SPARSE)).rejects.toThrow(`${path}: cannot write there, the folder`);
  });
});
