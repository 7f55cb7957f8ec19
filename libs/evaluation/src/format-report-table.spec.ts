import { describe, expect, it } from 'vitest';
import { evaluate } from './evaluate';
import { formatReportTable } from './format-report-table';

const truth = new Map([
  ['c1', 'B cell'],
  ['c2', 'B cell'],
  ['c3', 'T cell'],
  ['c4', 'NK'],
]);
const predictions = new Map([
  ['c1', 'B cell'],
  ['c2', 'T cell'],
  ['c3', 'T cell'],
  ['c4', 'unassigned'],
]);

describe(formatReportTable.name, () => {
  it('should show the overall figures, the per-type table and an aligned confusion matrix', () => {
    const text = formatReportTable(evaluate(predictions, truth));
    expect(text).toContain('Accuracy                   0.5000 (2 / 4)');
    // Macro-F1 = (B 2/3 + NK 0 + T 2/3) / 3 = 4/9.
    expect(text).toContain('Macro-F1                   0.4444 (mean over 3 cell types)');
    expect(text).toContain('Unassigned ("unassigned")  1 (25.0%)');
    expect(text).toContain(
      [
        '  cell type  precision  recall      F1  support',
        '  B cell        1.0000  0.5000  0.6667        2',
        '  NK            0.0000  0.0000  0.0000        1',
        '  T cell        0.5000  1.0000  0.6667        1',
      ].join('\n'),
    );
    expect(text).toContain(
      [
        '          B cell  NK  T cell  unassigned',
        '  B cell       1   0       1           0',
        '  NK           0   0       0           1',
        '  T cell       0   0       1           0',
      ].join('\n'),
    );
  });

  it('should report novel types and all-cells accuracy when reference types are given', () => {
    const text = formatReportTable(evaluate(predictions, truth, { referenceTypes: ['B cell', 'T cell'] }));
    expect(text).toContain('Cells                       4 (3 of reference types, 1 of novel types)');
    expect(text).toContain('Accuracy (reference types)  0.6667 (2 / 3)');
    expect(text).toContain('Accuracy (all cells)        0.7500');
    expect(text).toContain('Novel-type cells            1, correctly unassigned 1 (100.0%)');
    expect(text).toContain('  novel cell type  cells  unassigned\n  NK                   1  1 (100.0%)');
    expect(text).toContain('  NK (novel)       0       0           1');
  });

  it('should switch to numbered columns with a legend when the matrix is too wide', () => {
    const many = new Map(
      Array.from({ length: 20 }, (_, i) => [`c${i}`, `a rather long cell type name ${i}`]),
    );
    const text = formatReportTable(evaluate(many, many));
    expect(text).toContain('[20]');
    expect(text).toMatch(/columns:\n {3}\[1\] {2}a rather long cell type name 0\n/);
  });
});
