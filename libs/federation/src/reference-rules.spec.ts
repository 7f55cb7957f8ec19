import { describe, expect, it } from 'vitest';
import { InputError } from '@fl/formats';
import { checkReferenceTypeCounts } from './reference-rules';

describe('checkReferenceTypeCounts', () => {
  const allow = { allowSingletonTypes: true };
  const refuse = { allowSingletonTypes: false, howToAllow: 'send allowSingletonTypes=true' };

  it('should accept types of two or more cells', () => {
    expect(() => checkReferenceTypeCounts('a.csv', { T: 2, B: 5 }, refuse)).not.toThrow();
  });

  it('should refuse a single-cell type unless allowed, saying how to allow it', () => {
    expect(() => checkReferenceTypeCounts('a.csv', { T: 2, B: 1 }, allow)).not.toThrow();
    expect(() => checkReferenceTypeCounts('a.csv', { T: 2, B: 1 }, refuse)).toThrow(InputError);
    expect(() => checkReferenceTypeCounts('a.csv', { T: 2, NK: 1, B: 1 }, refuse)).toThrow(
      'a.csv: cell types "B", "NK" have only one cell; the N-pair loss needs two cells of a type. ' +
        'Add cells, remove the type, or send allowSingletonTypes=true to train without it and keep it ' +
        'for landmarks only (published behaviour).',
    );
  });

  it('should refuse a reference whose every type has a single cell, even when allowed', () => {
    expect(() => checkReferenceTypeCounts('a.csv', { T: 1, B: 1 }, allow)).toThrow(
      'a.csv: every cell type has a single cell (B, T); training needs at least one cell type with 2 or more cells',
    );
  });
});
