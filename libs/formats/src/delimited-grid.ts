import { InputError } from './input-error';
import { checkNumberText } from './number-text';
import { limitError, resolveLimits, type ReadLimitName, type ResolvedLimits } from './read-limits';

/**
 * A byte-level tokenizer for delimited text whose body is a grid of numbers
 * (expression matrices: thousands of numeric columns, one or two text columns).
 *
 * Why hand-written rather than csv-parse or papaparse: those materialise every
 * field as a JS string and then `Number()` it, i.e. ~14 million short-lived
 * strings for one 2,638 x 5,197 file. Here numbers are parsed straight from the
 * bytes (Clinger's fast path: an exact integer mantissa of <= 15 digits times an
 * exact power of ten <= 1e22 is correctly rounded), and only the header, the id
 * and label columns, and odd fields become strings. Measured on the 32 MB
 * pbmc3k_10x_v1.csv (2,638 x 5,197), on a shared 2-CPU sandbox: tokenizing
 * alone ~150 MB/s (0.22 s); readExpression end to end 40-55 MB/s, the rest
 * being the page faults of filling 2 x 55 MB of fresh float32 memory.
 *
 * Supported: RFC 4180 double-quoted fields (`""` escapes, delimiters and line
 * breaks inside quotes), LF / CRLF / CR line ends, a final line without a line
 * end, blank lines (skipped), a UTF-8 byte-order mark. Chunks may split a field
 * anywhere: the unfinished field's bytes are carried into the next chunk.
 *
 * Work is linear in the input, whatever the shape of the file: a field longer
 * than a chunk is appended to a doubling buffer and only the new bytes are
 * searched for its end (re-joining and re-scanning it for every chunk made one
 * 64 MiB field cost 9 s). Line and field lengths are capped (ReadLimits), and a
 * NUL byte anywhere means binary input, refused in the chunk it appears in.
 */
export interface GridHandler {
  /**
   * The header's fields. Returns, for every column, whether it holds text (ids,
   * labels) rather than numbers. May throw an InputError.
   */
  header(fields: string[], line: number): boolean[];
  /**
   * One data row: `text` holds the text columns and `values` the numeric ones,
   * each in column order. Both are reused for the next row: copy what you keep.
   */
  row(text: readonly string[], values: Float32Array, line: number): void;
}

export interface GridOptions {
  /** Line and field caps; DEFAULT_READ_LIMITS when absent. */
  limits?: ResolvedLimits;
  /**
   * Caps the header's fields while it is read, so a huge header fails before it is
   * held: at most `limits[limit] + otherColumns` fields (`noun` names them in the message).
   */
  columns?: { limit: ReadLimitName; noun: string; otherColumns: number };
}

export interface GridSummary {
  /** False when the file held no line at all. */
  headerSeen: boolean;
  /** Data rows after the header. */
  rows: number;
  /** 1-based line number following the last line. */
  nextLine: number;
}

const LF = 10;
const CR = 13;
const QUOTE = 34;
const PLUS = 43;
const MINUS = 45;
const DOT = 46;
const LOWER_E = 101;
const EMPTY = Buffer.alloc(0);
/** Exact powers of ten (10^0 .. 10^22 are all representable in a double). */
const POW10 = Float64Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));

export class DelimitedGridParser {
  private readonly delim: number;
  private readonly limits: ResolvedLimits;
  private readonly maxHeaderFields: number;
  private readonly columnLimit: GridOptions['columns'];
  /**
   * Bytes of a field that a chunk ended in the middle of, in `carryBuf[0, carryLen)`:
   * a buffer that doubles when full, so carrying a long field costs linear time.
   */
  private carryBuf: Buffer = EMPTY;
  private carryLen = 0;
  /** Offset in the stream of the carried field's first byte. */
  private carryStart = 0;
  /** The carried field is quoted, and (if so) whether its scanned bytes end inside the quotes. */
  private carryQuoted = false;
  private carryInside = false;
  /** Bytes pushed so far: the stream offset of the next chunk. */
  private streamPos = 0;
  /** Stream offset where the current record started, for the line cap. */
  private recordStart = 0;
  /** The first bytes, held until there are three to tell a byte-order mark. */
  private bomBytes: Buffer = EMPTY;
  private bomChecked = false;
  /** Physical line (1-based) at the current position. */
  private line = 1;
  /** Line where the current record started (records may span lines via quotes). */
  private recordLine = 1;
  private inRecord = false;
  private col = 0;
  /** The last record ended with CR: a following LF belongs to it. */
  private skipLF = false;
  private headerDone = false;
  private headerFields: string[] = [];
  private ncols = 0;
  /** Per column: 1 for numbers, 0 for text. */
  private numeric = new Uint8Array(0);
  /** Per column: its index in `values` (numeric) or `texts` (text). */
  private slots = new Int32Array(0);
  private values = new Float32Array(0);
  private texts: string[] = [];
  /** First bad value of the current row; reported after the field count is checked. */
  private rowError: string | null = null;
  private rows = 0;
  /** Text of the last field `scanField` read. */
  private fieldText = '';

  constructor(
    private readonly file: string,
    delimiter: ',' | '\t',
    private readonly handler: GridHandler,
    options: GridOptions = {},
  ) {
    this.delim = delimiter.charCodeAt(0);
    this.limits = options.limits ?? resolveLimits();
    const columns = options.columns;
    this.maxHeaderFields = columns ? this.limits[columns.limit] + columns.otherColumns : Infinity;
    this.columnLimit = columns;
  }

  /** Parses the next chunk. The chunk may be reused by the caller afterwards. */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.refuseNul(chunk);
    let base = this.streamPos;
    this.streamPos += chunk.length;
    let rest = chunk;
    if (!this.bomChecked) {
      const bytes = this.bomBytes.length > 0 ? Buffer.concat([this.bomBytes, chunk]) : chunk;
      if (bytes.length < 3) {
        this.bomBytes = Buffer.from(bytes);
        return;
      }
      rest = this.skipBom(bytes);
      base = this.streamPos - rest.length;
    }
    if (this.carryLen > 0) {
      // Search only the new bytes for the end of the carried field.
      const k = this.carriedFieldEnd(rest);
      if (k < 0) {
        this.appendCarry(rest);
        this.checkOpenField();
        return;
      }
      // Finish the field with the head of this chunk, its terminator included (so the
      // field is complete and nothing is carried again), rather than copying the chunk.
      this.appendCarry(rest.subarray(0, k + 1));
      const head = this.carryBuf.subarray(0, this.carryLen);
      const headBase = this.carryStart;
      this.carryLen = 0;
      this.parse(head, false, headBase);
      rest = rest.subarray(k + 1);
      base += k + 1;
    }
    this.parse(rest, false, base);
    if (this.carryLen > 0) this.checkOpenField();
  }

  /** Parses what is left (a last line may lack its line end). */
  finish(): GridSummary {
    if (!this.bomChecked) {
      this.parse(this.skipBom(this.bomBytes), true, 0);
    } else if (this.carryLen > 0) {
      const head = this.carryBuf.subarray(0, this.carryLen);
      this.carryLen = 0;
      this.parse(head, true, this.carryStart);
    } else {
      this.parse(EMPTY, true, this.streamPos);
    }
    this.carryBuf = EMPTY;
    return { headerSeen: this.headerDone, rows: this.rows, nextLine: this.line };
  }

  private skipBom(bytes: Buffer): Buffer {
    this.bomChecked = true;
    this.bomBytes = EMPTY;
    return bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf
      ? bytes.subarray(3)
      : bytes;
  }

  /** Binary input is refused in the chunk that shows it, not at the first line end. */
  private refuseNul(chunk: Buffer): void {
    const at = chunk.indexOf(0);
    if (at < 0) return;
    throw new InputError(
      `${this.file}: this does not look like a text file (it contains NUL bytes, ` +
        `the first at byte ${this.streamPos + at + 1})`,
      this.file,
    );
  }

  /**
   * Where the carried field ends in `buf`: the index of the byte after it (a delimiter
   * or line end; for a quoted field whatever follows the closing quote), or -1 when it
   * goes on past `buf`, in which case the quote state is updated for the next chunk.
   */
  private carriedFieldEnd(buf: Buffer): number {
    if (!this.carryQuoted) return firstTerminator(buf, this.delim);
    const scan = scanQuoted(buf, 0, this.carryInside);
    this.carryInside = scan.inside;
    return scan.end;
  }

  /** Carries `buf[from..]`, the start of a field the chunk ends in (copied: the caller reuses its buffer). */
  private startCarry(buf: Buffer, from: number, base: number): void {
    this.carryLen = 0;
    this.carryStart = base + from;
    this.carryQuoted = buf[from] === QUOTE;
    if (this.carryQuoted) this.carryInside = scanQuoted(buf, from + 1, true).inside;
    this.appendCarry(buf.subarray(from));
  }

  private appendCarry(bytes: Buffer): void {
    const needed = this.carryLen + bytes.length;
    if (needed > this.carryBuf.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, 2 * this.carryBuf.length, 256));
      this.carryBuf.copy(grown, 0, 0, this.carryLen);
      this.carryBuf = grown;
    }
    bytes.copy(this.carryBuf, this.carryLen);
    this.carryLen = needed;
  }

  /** Caps checked while a field is still open at the end of a chunk. */
  private checkOpenField(): void {
    if (this.carryLen > this.limits.maxFieldBytes) throw this.fieldTooLong(this.col);
    this.checkLine(this.streamPos);
  }

  private checkLine(end: number): void {
    if (end - this.recordStart > this.limits.maxLineBytes) {
      throw limitError(this.limits, 'maxLineBytes', { file: this.file, line: this.recordLine }, 'the line');
    }
  }

  private tooManyColumns(): Error {
    const { limit, noun } = this.columnLimit!;
    return limitError(
      this.limits,
      limit,
      { file: this.file, line: this.recordLine },
      `the number of ${noun}`,
    );
  }

  private fieldTooLong(col: number): Error {
    const name = this.headerDone ? this.headerFields[col] : undefined;
    const column = name === undefined ? `column ${col + 1}` : `column "${name}"`;
    return limitError(
      this.limits,
      'maxFieldBytes',
      { file: this.file, line: this.recordLine, column },
      'a field',
    );
  }

  /** Parses `buf`, whose first byte is at offset `base` of the stream. */
  private parse(buf: Buffer, final: boolean, base: number): void {
    const len = buf.length;
    let pos = 0;
    const maxField = this.limits.maxFieldBytes;
    const delim = this.delim;
    let numeric = this.numeric;
    let slots = this.slots;
    let values = this.values;
    let ncols = this.ncols;
    let col = this.col;

    for (;;) {
      if (!this.inRecord) {
        // Between records: skip blank lines and the LF of a CRLF.
        if (pos >= len) return;
        const c = buf[pos];
        if (c === LF) {
          pos++;
          if (this.skipLF) this.skipLF = false;
          else this.line++;
          continue;
        }
        this.skipLF = false;
        if (c === CR) {
          pos++;
          this.line++;
          this.skipLF = true;
          continue;
        }
        this.inRecord = true;
        this.recordLine = this.line;
        this.recordStart = base + pos;
        this.rowError = null;
        col = 0;
      }
      // At the start of field `col`.
      if (pos >= len && !final) {
        this.col = col;
        return;
      }
      const start = pos;
      let done = false;

      if (col < ncols && numeric[col] === 1 && pos < len) {
        // Fast path: a plain decimal number, parsed from the bytes.
        let p = pos;
        let c = buf[p];
        let neg = false;
        if (c === MINUS) {
          neg = true;
          p++;
        } else if (c === PLUS) p++;
        let mant = 0;
        let sig = 0;
        let digits = 0;
        let exp = 0;
        while (p < len) {
          const d = buf[p] - 48;
          if (d < 0 || d > 9) break;
          mant = mant * 10 + d;
          if (mant !== 0) sig++;
          digits++;
          p++;
        }
        if (p < len && buf[p] === DOT) {
          p++;
          while (p < len) {
            const d = buf[p] - 48;
            if (d < 0 || d > 9) break;
            mant = mant * 10 + d;
            if (mant !== 0) sig++;
            digits++;
            exp--;
            p++;
          }
        }
        if (p < len && (buf[p] | 32) === LOWER_E) {
          p++;
          let eneg = false;
          if (p < len && buf[p] === MINUS) {
            eneg = true;
            p++;
          } else if (p < len && buf[p] === PLUS) p++;
          let e = 0;
          let edigits = 0;
          while (p < len) {
            const d = buf[p] - 48;
            if (d < 0 || d > 9) break;
            if (e < 10000) e = e * 10 + d;
            edigits++;
            p++;
          }
          if (edigits === 0) digits = 0; // "1e": leave it to the slow path to explain
          exp += eneg ? -e : e;
        }
        if (p >= len && !final) {
          // The number may continue in the next chunk.
          this.col = col;
          this.startCarry(buf, start, base);
          return;
        }
        c = p < len ? buf[p] : delim;
        if (
          digits > 0 &&
          sig <= 15 &&
          exp >= -22 &&
          exp <= 22 &&
          (!neg || mant === 0) &&
          (c === delim || c === LF || c === CR)
        ) {
          values[slots[col]] = exp === 0 ? mant : exp < 0 ? mant / POW10[-exp] : mant * POW10[exp];
          pos = p;
          done = true;
        }
      }

      if (!done) {
        // Slow path: header fields, text columns, quoted or unusual numbers.
        const end = this.scanField(buf, pos, final);
        if (end < 0) {
          this.col = col;
          this.startCarry(buf, start, base);
          return;
        }
        pos = end;
        const text = this.fieldText;
        if (!this.headerDone) {
          this.headerFields.push(text);
          if (this.headerFields.length > this.maxHeaderFields) throw this.tooManyColumns();
        } else if (col < ncols) {
          if (numeric[col] === 0) this.texts[slots[col]] = text;
          else {
            const checked = checkNumberText(text);
            if (checked.ok) values[slots[col]] = checked.value;
            else if (this.rowError === null) {
              this.rowError = `${this.file}, line ${this.recordLine}, column "${this.headerFields[col]}": ${checked.problem}`;
            }
          }
        }
      }

      // At the field's end: a delimiter, a line end, or the end of the file.
      if (pos - start > maxField) throw this.fieldTooLong(col);
      if (base + pos - this.recordStart > this.limits.maxLineBytes) this.checkLine(base + pos);
      if (pos >= len) {
        this.col = col;
        this.endRecord();
        return;
      }
      const c = buf[pos++];
      if (c === delim) {
        col++;
        continue;
      }
      this.line++;
      if (c === CR) this.skipLF = true;
      this.col = col;
      const hadHeader = this.headerDone;
      this.endRecord();
      if (!hadHeader) {
        numeric = this.numeric;
        slots = this.slots;
        values = this.values;
        ncols = this.ncols;
      }
    }
  }

  /**
   * Finds the end of the field at `pos` (quoted or not), leaving its text in
   * `fieldText`. Returns the index of the byte after it, or -1 when the chunk
   * ends before the field does.
   */
  private scanField(buf: Buffer, pos: number, final: boolean): number {
    const len = buf.length;
    const delim = this.delim;
    if (pos < len && buf[pos] === QUOTE) {
      let p = pos + 1;
      let escaped = false;
      for (;;) {
        const q = buf.indexOf(QUOTE, p);
        if (q < 0) {
          if (!final) return -1;
          throw new InputError(
            `${this.file}, line ${this.line}: a quoted field is never closed (missing ")`,
            this.file,
            this.line,
          );
        }
        if (q + 1 < len && buf[q + 1] === QUOTE) {
          escaped = true;
          p = q + 2;
          continue;
        }
        if (q + 1 >= len && !final) return -1; // may be the first half of ""
        const end = q + 1;
        if (end < len && buf[end] !== delim && buf[end] !== LF && buf[end] !== CR) {
          throw new InputError(
            `${this.file}, line ${this.line}: unexpected text after a closing quote; ` +
              'a quoted field must end right after its closing " (write "" for a quote inside it)',
            this.file,
            this.line,
          );
        }
        const text = buf.toString('utf8', pos + 1, q);
        this.fieldText = escaped ? text.replaceAll('""', '"') : text;
        this.line += countLineEnds(buf, pos + 1, q);
        return end;
      }
    }
    let p = pos;
    while (p < len) {
      const c = buf[p];
      if (c === delim || c === LF || c === CR) break;
      p++;
    }
    if (p >= len && !final) return -1;
    this.fieldText = buf.toString('utf8', pos, p);
    return p;
  }

  private endRecord(): void {
    this.inRecord = false;
    const fields = this.col + 1;
    if (!this.headerDone) {
      this.setHeader(this.headerFields);
      return;
    }
    if (fields !== this.ncols) {
      throw new InputError(
        `${this.file}, line ${this.recordLine}: line ${this.recordLine} has ${fields} fields, the header has ${this.ncols}` +
          ` (is a value missing, or a delimiter inside an unquoted name?)`,
        this.file,
        this.recordLine,
      );
    }
    if (this.rowError !== null) throw new InputError(this.rowError, this.file, this.recordLine);
    this.rows++;
    this.handler.row(this.texts, this.values, this.recordLine);
  }

  private setHeader(fields: string[]): void {
    if (fields.some((f) => f.includes('\0'))) {
      throw new InputError(
        `${this.file}: this does not look like a text file (it contains NUL bytes)`,
        this.file,
        1,
      );
    }
    const isText = this.handler.header(fields, this.recordLine);
    this.ncols = fields.length;
    this.numeric = new Uint8Array(this.ncols);
    this.slots = new Int32Array(this.ncols);
    let nNumeric = 0;
    let nText = 0;
    for (let c = 0; c < this.ncols; c++) {
      if (isText[c]) this.slots[c] = nText++;
      else {
        this.numeric[c] = 1;
        this.slots[c] = nNumeric++;
      }
    }
    this.values = new Float32Array(nNumeric);
    this.texts = new Array<string>(nText).fill('');
    this.headerDone = true;
  }
}

/** Index of the first delimiter or line end in `buf`, or -1. */
function firstTerminator(buf: Buffer, delim: number): number {
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (c === delim || c === LF || c === CR) return i;
  }
  return -1;
}

/**
 * Scans the inside of a quoted field from `from`, where `inside` says whether the bytes
 * so far leave us within the quotes (false: just after a quote, which closes the field
 * unless another quote follows). `end` is the index of the first byte after the closing
 * quote, or -1 when `buf` ends first; `inside` is the state at that point.
 */
function scanQuoted(buf: Buffer, from: number, inside: boolean): { end: number; inside: boolean } {
  const len = buf.length;
  let p = from;
  for (;;) {
    if (inside) {
      const q = buf.indexOf(QUOTE, p);
      if (q < 0) return { end: -1, inside: true };
      inside = false;
      p = q + 1;
    }
    if (p >= len) return { end: -1, inside: false };
    if (buf[p] !== QUOTE) return { end: p, inside: false };
    inside = true; // "" inside quotes
    p++;
  }
}

/** Line ends inside a quoted field (LF, CRLF or a lone CR each count once). */
function countLineEnds(buf: Buffer, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = buf[i];
    if (c === LF) n++;
    else if (c === CR && buf[i + 1] !== LF) n++;
  }
  return n;
}
