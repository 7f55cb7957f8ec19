import { describe, expect, it } from 'vitest';
import { scratchBuffer } from './scratch';

describe('scratchBuffer', () => {
  it('should reuse the same memory for the same name and grow when asked for more', () => {
    const a = scratchBuffer('spec', 10);
    const b = scratchBuffer('spec', 5);
    expect(b.buffer).toBe(a.buffer);
    expect(b.length).toBe(5);
    const c = scratchBuffer('spec', 100);
    expect(c.length).toBe(100);
    expect(scratchBuffer('spec', 10).buffer).toBe(c.buffer);
    expect(scratchBuffer('other', 10).buffer).not.toBe(c.buffer);
  });
});
