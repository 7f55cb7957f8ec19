import { describe, expect, it } from 'vitest';
import { countDetectedValues, detectionRate, institutionDropout } from './detection-rate';

describe('detectionRate', () => {
  it('should count detected values over the genes the institution measures', () => {
    // 2 cells x 4 genes; gene 3 is zero everywhere (not measured), genes 0-2 measured.
    // Detected: cell 0 genes 0, 1; cell 1 gene 2 -> 3 of 2 x 3 = 0.5.
    const values = Float32Array.from([1, 2, 0, 0, 0, 0, 5, 0]);
    expect(detectionRate(values, 2, 4)).toBe(0.5);
  });

  it('should give 0 for no detected value and refuse a wrong size', () => {
    expect(detectionRate(new Float32Array(6), 2, 3)).toBe(0);
    expect(() => detectionRate(new Float32Array(5), 2, 3)).toThrow(/expected 2 x 3/);
  });
});

describe('institutionDropout', () => {
  // Dense (plate-like): 3 of 4 genes detected per cell; sparse (droplet-like): 1 of 4.
  const dense = { values: Float32Array.from([1, 1, 1, 0, 1, 0, 1, 1]), nCells: 2 };
  const sparse = { values: Float32Array.from([1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0]), nCells: 4 };

  it('should apply the dropout where the detection rate reaches the bound, and not below it', () => {
    const options = { inputDropout: 0.2, inputDropoutMinDetection: 0.5 };
    expect(institutionDropout(dense, 4, options)).toEqual({ rate: 0.2, detection: 0.75 });
    expect(institutionDropout(sparse, 4, options)).toEqual({ rate: 0, detection: 0.25 });
    // Exactly at the bound counts as reaching it.
    expect(institutionDropout(sparse, 4, { ...options, inputDropoutMinDetection: 0.25 }).rate).toBe(0.2);
  });

  it('should apply it everywhere without a bound, and nowhere without a rate', () => {
    expect(institutionDropout(sparse, 4, { inputDropout: 0.2 })).toEqual({ rate: 0.2 });
    expect(institutionDropout(dense, 4, { inputDropoutMinDetection: 0.5 })).toEqual({ rate: 0 });
  });
});

describe(countDetectedValues.name, () => {
  it('counts the non-zero values, negative ones included (standardised data)', () => {
    expect(countDetectedValues(Float32Array.from([0, 1.5, 0, -0.2, 3, 0]))).toBe(3);
    expect(countDetectedValues(new Float32Array(4))).toBe(0);
  });
});
