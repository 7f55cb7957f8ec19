import { describe, expect, it } from 'vitest';
import { DelimitedGridParser, type GridOptions, type GridSummary } from './delimited-grid';
import { InputError } from './input-error';
import { InputLimitError, resolveLimits, type ReadLimits } from './read-limits';

interface Parsed {
  header: string[];
  rows: { text: string[]; values: number[]; line: number }[];
  summary: GridSummary;
}

/** Parses `text` fed in the given chunk sizes; column 0 and any column named `label` are text. */
function parse(
  text: string | Buffer,
  chunkSizes: number[] = [],
  delimiter: ',' | '\t' = ',',
  options: GridOptions = {},
): Parsed {
  const out: Parsed = { header: [], rows: [], summary: { headerSeen: false, rows: 0, nextLine: 0 } };
  const parser = new DelimitedGridParser(
    'grid.csv',
    delimiter,
    {
      header(fields) {
        out.header = fields;
        return fields.map((f, c) => c === 0 || f === 'label');
      },
      row(t, values, line) {
        out.rows.push({ text: [...t], values: Array.from(values), line });
      },
    },
    options,
  );
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  let pos = 0;
  for (const size of chunkSizes) {
    // A fresh, reused-looking buffer: the parser must not keep references into it.
    const chunk = Buffer.from(bytes.subarray(pos, pos + size));
    parser.push(chunk);
    chunk.fill(0x58);
    pos += size;
  }
  if (pos < bytes.length) parser.push(Buffer.from(bytes.subarray(pos)));
  out.summary = parser.finish();
  return out;
}

function errorOf(fn: () => unknown): InputError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return err as InputError;
  }
  throw new Error('expected an InputError');
}

const SAMPLE =
  'id,g1,g2,label\r\n' +
  '"a,1",1.5,-0,"T ""x"""\r\n' +
  '\r\n' +
  'b,2.5e-3,12345678901234567890,"multi\nline"\n' +
  'c,+7,.5,z';

describe('DelimitedGridParser', () => {
  it('should parse numbers, quoted text, CRLF, blank lines and a last line without line end', () => {
    const p = parse(SAMPLE);
    expect(p.header).toEqual(['id', 'g1', 'g2', 'label']);
    expect(p.rows.map((r) => r.text)).toEqual([
      ['a,1', 'T "x"'],
      ['b', 'multi\nline'],
      ['c', 'z'],
    ]);
    expect(p.rows[0].values).toEqual([1.5, 0]);
    expect(p.rows[1].values[0]).toBeCloseTo(0.0025, 9);
    expect(p.rows[1].values[1]).toBe(Math.fround(Number('12345678901234567890')));
    expect(p.rows[2].values).toEqual([7, 0.5]);
    expect(p.rows.map((r) => r.line)).toEqual([2, 4, 6]);
    expect(p.summary).toEqual({ headerSeen: true, rows: 3, nextLine: 6 });
  });

  it('should give the same result wherever the chunks split the bytes', () => {
    const whole = parse(SAMPLE);
    const n = Buffer.byteLength(SAMPLE);
    for (let cut = 1; cut < n; cut++) expect(parse(SAMPLE, [cut]), `cut at ${cut}`).toEqual(whole);
    expect(parse(SAMPLE, new Array(n).fill(1))).toEqual(whole);
    expect(parse(SAMPLE, [3, 5, 7, 2, 11, 1, 1, 4])).toEqual(whole);
  });

  it('should parse decimal numbers exactly as Number() does, then round to float32', () => {
    const numbers = [
      '0',
      '1',
      '0.1',
      '1.7985',
      '3.5913',
      '123.456e-2',
      '1E5',
      '9.999999999999999',
      '0.000012345',
    ];
    const text = `id,${numbers.map((_, i) => `g${i}`).join(',')}\nx,${numbers.join(',')}\n`;
    expect(parse(text).rows[0].values).toEqual(numbers.map((s) => Math.fround(Number(s))));
  });

  it('should skip a UTF-8 byte-order mark even when split across chunks', () => {
    const text = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('id,g\nx,1\n')]);
    expect(parse(text).header).toEqual(['id', 'g']);
    expect(parse(text, [1, 1, 1]).header).toEqual(['id', 'g']);
  });

  it('should read tab-separated text', () => {
    expect(parse('id\tg1\tg2\nx\t1\t2\n', [], '\t').rows[0]).toEqual({
      text: ['x'],
      values: [1, 2],
      line: 2,
    });
  });

  it('should report a row with too few or too many fields before a bad value in it', () => {
    expect(errorOf(() => parse('id,g1,g2\nx,1,2\ny,abc\n')).message).toBe(
      'grid.csv, line 3: line 3 has 2 fields, the header has 3 (is a value missing, or a delimiter inside an unquoted name?)',
    );
    expect(errorOf(() => parse('id,g1\nx,1,2\n')).message).toContain('line 2 has 3 fields, the header has 2');
  });

  it('should name the line, the column and the text of a bad value', () => {
    const err = errorOf(() => parse('id,g1,g2\nx,1,2\ny,3,1.2.3\n'));
    expect(err.message).toBe('grid.csv, line 3, column "g2": "1.2.3" is not a number');
    expect(err.line).toBe(3);
    expect(err.file).toBe('grid.csv');
  });

  it('should reject empty, NaN, infinite and negative values', () => {
    expect(errorOf(() => parse('id,g1\nx,\n')).message).toMatch(/line 2, column "g1": empty value/);
    expect(errorOf(() => parse('id,g1,g2\nx,,1\n')).message).toMatch(/line 2, column "g1": empty value/);
    expect(errorOf(() => parse('id,g1\nx,NaN\n')).message).toMatch(/"NaN" is not allowed/);
    expect(errorOf(() => parse('id,g1\nx,-Infinity\n')).message).toMatch(/"-Infinity" is not allowed/);
    expect(errorOf(() => parse('id,g1\nx,1e999\n')).message).toMatch(/"1e999" is too large/);
    expect(errorOf(() => parse('id,g1\nx,-0.5\n')).message).toMatch(/line 2, column "g1": -0.5 is negative/);
  });

  it('should accept quoted and space-padded numbers', () => {
    expect(parse('id,g1,g2\nx,"1.5", 2 \n').rows[0].values).toEqual([1.5, 2]);
  });

  it('should reject an unterminated quote and text after a closing quote', () => {
    expect(errorOf(() => parse('id,g1\n"x,1\n')).message).toMatch(/line 2: a quoted field is never closed/);
    expect(errorOf(() => parse('id,g1\n"x"y,1\n')).message).toMatch(
      /line 2: unexpected text after a closing quote/,
    );
  });

  it('should reject binary input', () => {
    expect(errorOf(() => parse('\0\0\0,x\n')).message).toMatch(/does not look like a text file/);
  });

  it('should report no header for empty input and no rows for a header alone', () => {
    expect(parse('').summary).toEqual({ headerSeen: false, rows: 0, nextLine: 1 });
    expect(parse('\n\n').summary.headerSeen).toBe(false);
    expect(parse('id,g1\n').summary).toEqual({ headerSeen: true, rows: 0, nextLine: 2 });
  });

  it('should keep carried fields exact across chunk splits, quoted or not, long or short', () => {
    const long = 'y'.repeat(5000);
    const text = `id,g1,label\n"${long}""q""\n${long}",1.25,${long}\n${long},2,"a""b"\n`;
    const whole = parse(text);
    expect(whole.rows[0].text).toEqual([`${long}"q"\n${long}`, long]);
    expect(whole.rows[1].text).toEqual([long, 'a"b']);
    for (const size of [1, 2, 3, 7, 100, 4999, 5001]) {
      expect(parse(text, new Array(Math.ceil(text.length / size)).fill(size)), `chunks of ${size}`).toEqual(
        whole,
      );
    }
  });
});

describe('DelimitedGridParser limits', () => {
  const MiB = 1 << 20;
  const big: Partial<ReadLimits> = { maxFieldBytes: 1 << 30, maxLineBytes: 1 << 30 };

  function limited(limits: Partial<ReadLimits>, extra: Omit<GridOptions, 'limits'> = {}): GridOptions {
    return { limits: resolveLimits({ limits }), ...extra };
  }

  function limitErrorOf(fn: () => unknown): InputLimitError {
    const err = errorOf(fn);
    expect(err).toBeInstanceOf(InputLimitError);
    return err as InputLimitError;
  }

  /** Seconds to parse one field of `bytes` zeros (quoted or not) fed in 1 MiB chunks; best of two. */
  function timeOneField(bytes: number, quoted: boolean): number {
    const chunk = Buffer.alloc(MiB, 0x30);
    let best = Infinity;
    for (let attempt = 0; attempt < 2; attempt++) {
      const started = performance.now();
      const parser = new DelimitedGridParser(
        'zeros.csv',
        ',',
        { header: (f) => f.map(() => true), row() {} },
        limited(big),
      );
      if (quoted) parser.push(Buffer.from('"'));
      for (let done = 0; done < bytes; done += MiB) parser.push(chunk);
      if (quoted) parser.push(Buffer.from('"'));
      parser.finish();
      best = Math.min(best, performance.now() - started);
    }
    return best;
  }

  it.each([false, true])(
    'should take linear time in the length of one huge field (quoted: %s)',
    (quoted) => {
      // Quadratic re-scanning makes 8x the bytes cost ~64x the time; linear work ~8x.
      const small = timeOneField(8 * MiB, quoted);
      const large = timeOneField(64 * MiB, quoted);
      expect(large / small).toBeLessThan(24);
    },
    120_000,
  );

  it('should refuse a NUL byte in the first chunk, before the first line ends', () => {
    const parser = new DelimitedGridParser('bin.csv', ',', { header: (f) => f.map(() => true), row() {} });
    const chunk = Buffer.alloc(MiB, 0x41);
    chunk[10] = 0;
    expect(() => parser.push(chunk)).toThrow(
      /bin\.csv: this does not look like a text file \(it contains NUL bytes/,
    );
  });

  it('should refuse a NUL byte anywhere, also in a data row', () => {
    expect(errorOf(() => parse('id,g1\nx\0,1\n')).message).toMatch(/does not look like a text file/);
  });

  it('should refuse a field longer than maxFieldBytes within one chunk of the limit', () => {
    const limits = limited({ maxFieldBytes: 1000 });
    const parser = new DelimitedGridParser(
      'wide.csv',
      ',',
      { header: (f) => f.map((_, c) => c === 0), row() {} },
      limits,
    );
    parser.push(Buffer.from('id,g1\nx,'));
    const zeros = Buffer.alloc(600, 0x30);
    parser.push(zeros);
    const err = limitErrorOf(() => parser.push(zeros));
    expect(err.limit).toBe('maxFieldBytes');
    expect(err.message).toBe(
      'wide.csv, line 2, column "g1": a field exceeds the limit of 1,000 bytes (maxFieldBytes); ' +
        'if the file is genuine, raise the read limit "maxFieldBytes"',
    );
    expect(limitErrorOf(() => parse(`id,g1\n"${'z'.repeat(2000)}",1\n`, [], ',', limits)).message).toMatch(
      /line 2, column "id": a field exceeds the limit/,
    );
    expect(limitErrorOf(() => parse(`id,${'g'.repeat(2000)}\n`, [], ',', limits)).message).toMatch(
      /line 1, column 2: a field exceeds the limit/,
    );
  });

  it('should refuse a line longer than maxLineBytes, naming the setting to raise', () => {
    const options = limited({ maxLineBytes: 4096 }, {});
    const wide = `id,${Array.from({ length: 1000 }, (_, i) => `g${i}`).join(',')}\n`;
    const err = limitErrorOf(() =>
      parse(wide, [], ',', {
        ...options,
        limits: resolveLimits({
          limits: { maxLineBytes: 4096 },
          limitSettings: { maxLineBytes: 'READ_MAX_LINE_BYTES' },
        }),
      }),
    );
    expect(err.limit).toBe('maxLineBytes');
    expect(err.message).toBe(
      'grid.csv, line 1: the line exceeds the limit of 4 KiB (maxLineBytes); if the file is genuine, raise READ_MAX_LINE_BYTES',
    );
    const row = `id,g1\nx,${'1,'.repeat(3000)}1\n`;
    expect(limitErrorOf(() => parse(row, [100, 100, 100], ',', options)).line).toBe(2);
  });

  it('should refuse a header with more columns than allowed while reading it', () => {
    const options = limited(
      { maxGenes: 3 },
      { columns: { limit: 'maxGenes', noun: 'genes', otherColumns: 1 } },
    );
    expect(parse('id,a,b,c\nx,1,2,3\n', [], ',', options).rows).toHaveLength(1);
    const err = limitErrorOf(() => parse('id,a,b,c,d\nx,1,2,3,4\n', [], ',', options));
    expect(err.limit).toBe('maxGenes');
    expect(err.message).toMatch(
      /^grid\.csv, line 1: the number of genes exceeds the limit of 3 genes \(maxGenes\)/,
    );
  });
});
