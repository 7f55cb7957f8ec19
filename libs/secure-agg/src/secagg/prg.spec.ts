import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { applyMaskStreams, CHUNK_WORDS, expandWords, streamKey } from './prg';

const key = () => new Uint8Array(randomBytes(16));

describe('mask PRG (AES-128-CTR)', () => {
  it('word i is the little-endian i-th word of the AES-128-CTR keystream from counter 0', () => {
    const k = key();
    const n = 3 * CHUNK_WORDS + 7;
    const ref = createCipheriv('aes-128-ctr', k, Buffer.alloc(16)).update(Buffer.alloc(n * 4));
    const expected = new Uint32Array(ref.buffer, ref.byteOffset, n);
    expect(expandWords(k, n)).toEqual(expected);
    expect(expandWords(k, 1000, 2 * CHUNK_WORDS + 5)).toEqual(
      expected.subarray(2 * CHUNK_WORDS + 5, 2 * CHUNK_WORDS + 1005),
    );
  });

  it('gives the same bits however the range is split (threads)', () => {
    const streams = [
      { key: key(), sign: 1 as const },
      { key: key(), sign: -1 as const },
      { key: key(), sign: 1 as const },
      { key: key(), sign: -1 as const },
      { key: key(), sign: -1 as const },
      { key: key(), sign: 1 as const },
      { key: key(), sign: 1 as const },
    ];
    const n = 2 * CHUNK_WORDS + 1234;
    const whole = Uint32Array.from({ length: n }, (_, i) => i * 2654435761);
    const split = whole.slice();
    applyMaskStreams(whole, streams);
    // cuts inside a keystream block, on a chunk boundary + 3, and mid-chunk
    const cuts = [0, 5, CHUNK_WORDS + 3, CHUNK_WORDS + 7001, n];
    for (let c = 0; c + 1 < cuts.length; c++) applyMaskStreams(split, streams, cuts[c], cuts[c + 1]);
    expect(split).toEqual(whole);
  });

  it('a mask added and subtracted cancels exactly', () => {
    const k = key();
    const v = Uint32Array.from({ length: 50_000 }, (_, i) => i);
    const orig = v.slice();
    applyMaskStreams(v, [{ key: k, sign: 1 }]);
    expect(v).not.toEqual(orig);
    applyMaskStreams(v, [{ key: k, sign: -1 }]);
    expect(v).toEqual(orig);
  });

  it('derives independent keys per label', () => {
    const seed = new Uint8Array(randomBytes(32));
    const a = streamKey(seed, new TextEncoder().encode('round 1'));
    const b = streamKey(seed, new TextEncoder().encode('round 2'));
    expect(a).toHaveLength(16);
    expect(a).not.toEqual(b);
    expect(streamKey(seed, new TextEncoder().encode('round 1'))).toEqual(a);
    expect(() => streamKey(new Uint8Array(16), new Uint8Array())).toThrow(RangeError);
  });

  it('expands fast (reported, not asserted: the machine is shared)', () => {
    const n = 4_000_000;
    const v = new Uint32Array(n);
    const k = key();
    applyMaskStreams(v, [{ key: k, sign: 1 }]); // warm up
    const t = performance.now();
    applyMaskStreams(v, [{ key: k, sign: 1 }]);
    const ms = performance.now() - t;
    console.log(`PRG + add: ${((n * 4) / ms / 1e6).toFixed(2)} GB/s (${ms.toFixed(1)} ms for ${n} words)`);
    expect(ms).toBeLessThan(5_000);
  });
});
