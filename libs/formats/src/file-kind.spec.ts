import { describe, expect, it } from 'vitest';
import { datasetName, fileKind } from './file-kind';

describe('datasetName', () => {
  it('should drop data extensions, compressed or not', () => {
    expect(datasetName('wang.csv.gz')).toBe('wang');
    expect(datasetName('/data/ref/baron_human.csv')).toBe('baron_human');
    expect(datasetName('a/b/pbmc.h5ad')).toBe('pbmc');
    expect(datasetName('xin.TSV')).toBe('xin');
    expect(datasetName('cells.v2.txt.gz')).toBe('cells.v2');
  });

  it('should keep other names whole, including 10x folders', () => {
    expect(datasetName('/data/filtered_feature_bc_matrix/')).toBe('filtered_feature_bc_matrix');
    expect(datasetName('notes.md')).toBe('notes.md');
    expect(datasetName('.csv')).toBe('.csv');
  });
});

describe('fileKind', () => {
  it('should recognise delimiters, compression and h5ad from the name', () => {
    expect(fileKind('a.csv')).toEqual({ kind: 'delimited', delimiter: ',', gzip: false });
    expect(fileKind('a.CSV.GZ')).toEqual({ kind: 'delimited', delimiter: ',', gzip: true });
    expect(fileKind('a.tsv.gz')).toEqual({ kind: 'delimited', delimiter: '\t', gzip: true });
    expect(fileKind('a.txt')).toEqual({ kind: 'delimited', delimiter: '\t', gzip: false });
    expect(fileKind('a.h5ad')).toEqual({ kind: 'h5ad' });
  });

  it('should not recognise other files', () => {
    for (const name of ['a.h5ad.gz', 'a.xlsx', 'matrix.mtx', 'a.gz', 'csv'])
      expect(fileKind(name)).toBeUndefined();
  });
});
