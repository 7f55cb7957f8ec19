import { describe, expect, it } from 'vitest';
import { geneChunkBounds } from './gene-chunks';

describe('geneChunkBounds', () => {
  it('should keep a small model in one chunk', () => {
    expect([...geneChunkBounds(2000, 500)]).toEqual([0, 2000]);
  });

  it('should cut 20,000 genes at H = 500 into 10 equal chunks of about 4 MB of W1', () => {
    // 4 MiB / (4 bytes x 500) = 2,097 genes at most per chunk: ceil(20,000 / 2,097) = 10 chunks.
    const bounds = geneChunkBounds(20_000, 500);
    expect(bounds.length - 1).toBe(10);
    for (let c = 0; c < 10; c++) expect(bounds[c + 1] - bounds[c]).toBe(2000);
  });

  it('should cover every gene once, in near-equal chunks', () => {
    const bounds = geneChunkBounds(12_345, 700);
    expect(bounds[0]).toBe(0);
    expect(bounds[bounds.length - 1]).toBe(12_345);
    const sizes = Array.from({ length: bounds.length - 1 }, (_, c) => bounds[c + 1] - bounds[c]);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
  });

  it('should handle zero genes and reject bad sizes', () => {
    expect([...geneChunkBounds(0, 500)]).toEqual([0, 0]);
    expect(() => geneChunkBounds(10, 0)).toThrow(/geneChunkBounds:/);
  });
});
