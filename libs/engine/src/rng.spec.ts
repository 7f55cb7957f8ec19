import { describe, expect, it } from 'vitest';
import { createRng, rngFromState } from './rng';

describe('createRng', () => {
  it('should give the same stream for the same seed', () => {
    const a = createRng(9);
    const b = createRng(9);
    for (let i = 0; i < 100; i++) expect(a.next()).toBe(b.next());
  });

  it('should not start its stream with the seed itself', () => {
    const first = [0, 1, 2, 3].map((s) => createRng(s).next());
    expect(new Set(first).size).toBe(4);
    expect(first).not.toContain(~0);
    expect(first).not.toContain(~1);
  });

  it('should reject a non-integer seed', () => {
    expect(() => createRng(Number.NaN)).toThrow(/createRng: seed/);
  });
});

describe('rngFromState', () => {
  it('should resume a stream exactly', () => {
    const a = createRng(123);
    for (let i = 0; i < 10; i++) a.next();
    const b = rngFromState([...a.getState()]);
    for (let i = 0; i < 50; i++) expect(b.next()).toBe(a.next());
  });
});
