import { describe, expect, it } from 'vitest';
import { groupCellsByType } from './group-cells-by-type';

describe('groupCellsByType', () => {
  it('should list the cells of each type in ascending order, including empty types', () => {
    const groups = groupCellsByType(Int32Array.from([2, 0, 2, 1, 0]), 4);
    expect(groups.map((g) => [...g])).toEqual([[1, 4], [3], [0, 2], []]);
  });

  it('should reject a code outside 0..nTypes-1', () => {
    expect(() => groupCellsByType(Int32Array.from([0, 3]), 3)).toThrow(
      /groupCellsByType: label code 3 of cell 1/,
    );
  });
});
