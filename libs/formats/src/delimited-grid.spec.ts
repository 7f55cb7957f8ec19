import { describe, expect, it } from 'vitest';
import { DelimitedGridParser, type GridSummary } from './delimited-grid';
import { InputError } from './input-error';

interface Parsed {
  header: string[];
  rows: { text: string[]; values: number[]; line: number }[];
  summary: GridSummary;
}

/** Parses `text` fed in the given chunk sizes; column 0 and any column named `label` are text. */
function parse(text: string | Buffer, chunkSizes: number[] = [], delimiter: ',' | '\t' = ','): Parsed {
  const out: Parsed = { header: [], rows: [], summary: { headerSeen: false, rows: 0, nextLine: 0 } };
  const parser = new DelimitedGridParser('grid.csv', delimiter, {
    header(fields) {
      out.header = fields;
      return fields.map((f, c) => c === 0 || f === 'label');
    },
    row(t, values, line) {
      out.rows.push({ text: [...t], values: Array.from(values), line });
    },
  });
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
});
