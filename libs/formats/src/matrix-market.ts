import { fileChunks } from './byte-chunks';
import { InputError } from './input-error';
import { checkNumberText } from './number-text';
import { limitError, resolveLimits, type ResolvedLimits } from './read-limits';
import type { ReadProgress } from './types';

/**
 * A MatrixMarket `coordinate` file (`integer`, `real` or `pattern`, `general`),
 * streamed: the banner, `%` comments, the size line `rows cols entries`, then
 * one `i j [value]` line per stored entry, 1-based. Entries go straight into
 * typed arrays sized from the size line.
 */
export interface Triplets {
  rows: number;
  cols: number;
  /** 0-based row / column of each entry, and its value. */
  rowIdx: Int32Array;
  colIdx: Int32Array;
  values: Float32Array;
}

const LF = 10;
const CR = 13;

export async function readMatrixMarket(
  path: string,
  progress: ReadProgress = {},
  limits: ResolvedLimits = resolveLimits(),
): Promise<Triplets> {
  const parser = new MatrixMarketParser(path, limits);
  for await (const chunk of fileChunks(path, path.toLowerCase().endsWith('.gz'), progress, limits))
    parser.push(chunk);
  return parser.finish();
}

class MatrixMarketParser {
  /** Copies of the pieces of a line that chunks ended in the middle of (joined once, at its end). */
  private carry: Buffer[] = [];
  private carryBytes = 0;
  private line = 0;
  private bannerSeen = false;
  private pattern = false;
  private size: { rows: number; cols: number; nnz: number } | undefined;
  private rowIdx = new Int32Array(0);
  private colIdx = new Int32Array(0);
  private values = new Float32Array(0);
  private count = 0;
  private readonly tokens: string[] = [];

  constructor(
    private readonly path: string,
    private readonly limits: ResolvedLimits,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    if (this.carryBytes > 0) {
      // Complete the split line from the head of this chunk (no copy of the whole chunk).
      const nl = chunk.indexOf(LF);
      if (nl < 0) {
        this.keep(chunk);
        return;
      }
      if (this.carryBytes + nl > this.limits.maxLineBytes) throw this.lineTooLong(this.line + 1);
      const line = Buffer.concat([...this.carry, chunk.subarray(0, nl)]);
      this.carry = [];
      this.carryBytes = 0;
      this.parseLine(
        line,
        0,
        line.length > 0 && line[line.length - 1] === CR ? line.length - 1 : line.length,
      );
      start = nl + 1;
    }
    for (;;) {
      const nl = chunk.indexOf(LF, start);
      if (nl < 0) break;
      if (nl - start > this.limits.maxLineBytes) throw this.lineTooLong(this.line + 1);
      this.parseLine(chunk, start, nl > start && chunk[nl - 1] === CR ? nl - 1 : nl);
      start = nl + 1;
    }
    if (start < chunk.length) this.keep(chunk.subarray(start));
  }

  /** Carries part of a line to the next chunk; copied, as the chunk's buffer is reused by the reader. */
  private keep(part: Buffer): void {
    this.carry.push(Buffer.from(part));
    this.carryBytes += part.length;
    if (this.carryBytes > this.limits.maxLineBytes) throw this.lineTooLong(this.line + 1);
  }

  private lineTooLong(line: number): Error {
    return limitError(this.limits, 'maxLineBytes', { file: this.path, line }, 'the line');
  }

  finish(): Triplets {
    const rest = Buffer.concat(this.carry);
    this.carry = [];
    if (rest.length > 0)
      this.parseLine(rest, 0, rest[rest.length - 1] === CR ? rest.length - 1 : rest.length);
    const size = this.size;
    if (!this.bannerSeen || size === undefined) {
      throw new InputError(
        `${this.path}: not a MatrixMarket file (expected a "%%MatrixMarket matrix coordinate ..." line and a size line)`,
        this.path,
      );
    }
    if (this.count !== size.nnz) {
      throw new InputError(
        `${this.path}: the size line announces ${size.nnz} entries but the file has ${this.count}`,
        this.path,
      );
    }
    return {
      rows: size.rows,
      cols: size.cols,
      rowIdx: this.rowIdx,
      colIdx: this.colIdx,
      values: this.values,
    };
  }

  private parseLine(buf: Buffer, start: number, end: number): void {
    this.line++;
    if (!this.bannerSeen) return this.parseBanner(buf.toString('utf8', start, end));
    if (start === end || buf[start] === 37 /* % */) return;
    if (this.size === undefined) return this.parseSize(buf.toString('utf8', start, end));
    this.parseEntry(buf, start, end);
  }

  private parseBanner(text: string): void {
    const words = text.trim().toLowerCase().split(/\s+/);
    if (words[0] !== '%%matrixmarket') {
      throw this.error('the first line must be a "%%MatrixMarket matrix coordinate integer general" banner');
    }
    const [, object, format, field, symmetry] = words;
    if (object !== 'matrix' || format !== 'coordinate') {
      throw this.error(`"${text.trim()}": only sparse (coordinate) matrices are supported`);
    }
    if (!['integer', 'real', 'double', 'pattern'].includes(field)) {
      throw this.error(`"${text.trim()}": values must be integer, real or pattern, not ${field}`);
    }
    if (symmetry !== 'general') throw this.error(`"${text.trim()}": only "general" matrices are supported`);
    this.pattern = field === 'pattern';
    this.bannerSeen = true;
  }

  private parseSize(text: string): void {
    const parts = text.trim().split(/\s+/).map(Number);
    if (parts.length !== 3 || !parts.every((n) => Number.isInteger(n) && n >= 0)) {
      throw this.error(`expected the size line "rows columns entries", found "${text.trim()}"`);
    }
    const [rows, cols, nnz] = parts;
    // Checked before the entry arrays are allocated from the announced count.
    const at = { file: this.path, line: this.line };
    const n = (x: number) => x.toLocaleString('en-US');
    if (rows > this.limits.maxGenes) throw limitError(this.limits, 'maxGenes', at, `${n(rows)} rows (genes)`);
    if (cols > this.limits.maxCells)
      throw limitError(this.limits, 'maxCells', at, `${n(cols)} columns (cells)`);
    if (nnz > this.limits.maxValues) throw limitError(this.limits, 'maxValues', at, `${n(nnz)} entries`);
    this.size = { rows, cols, nnz };
    this.rowIdx = new Int32Array(nnz);
    this.colIdx = new Int32Array(nnz);
    this.values = new Float32Array(nnz);
  }

  private parseEntry(buf: Buffer, start: number, end: number): void {
    const size = this.size!;
    const tokens = this.tokens;
    tokens.length = 0;
    let p = start;
    while (p < end && tokens.length < 4) {
      while (p < end && (buf[p] === 32 || buf[p] === 9)) p++;
      if (p >= end) break;
      const s = p;
      while (p < end && buf[p] !== 32 && buf[p] !== 9) p++;
      tokens.push(buf.toString('latin1', s, p));
    }
    if (tokens.length === 0) return; // a blank line
    const expected = this.pattern ? 2 : 3;
    if (tokens.length !== expected) {
      throw this.error(
        `expected ${expected} numbers ("row column${this.pattern ? '' : ' value'}"), found ${tokens.length}`,
      );
    }
    if (this.count >= size.nnz) throw this.error(`more entries than the ${size.nnz} the size line announces`);
    const i = Number(tokens[0]);
    const j = Number(tokens[1]);
    if (!Number.isInteger(i) || i < 1 || i > size.rows) {
      throw this.error(`row index ${tokens[0]} is out of range 1..${size.rows}`);
    }
    if (!Number.isInteger(j) || j < 1 || j > size.cols) {
      throw this.error(`column index ${tokens[1]} is out of range 1..${size.cols}`);
    }
    let value = 1;
    if (!this.pattern) {
      const checked = checkNumberText(tokens[2]);
      if (!checked.ok) throw this.error(`value ${checked.problem}`);
      value = checked.value;
    }
    this.rowIdx[this.count] = i - 1;
    this.colIdx[this.count] = j - 1;
    this.values[this.count] = value;
    this.count++;
  }

  private error(what: string): InputError {
    return new InputError(`${this.path}, line ${this.line}: ${what}`, this.path, this.line);
  }
}
