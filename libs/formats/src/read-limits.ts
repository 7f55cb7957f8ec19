import { InputError } from './input-error';

/**
 * Caps on what one input file may make a reader do, so that a hostile or mistaken
 * file (a gzip bomb, a 1 GiB line, millions of cells) is refused early, with bounded
 * time and memory, instead of taking the process down.
 */
export interface ReadLimits {
  /** Bytes of text after decompression (the file size for plain files). */
  maxDecompressedBytes: number;
  /** Cells (rows of a cells x genes file, columns of a genes x cells one). */
  maxCells: number;
  /** Genes (columns of a cells x genes file, rows of a genes x cells one). */
  maxGenes: number;
  /** Cells x genes values held in memory (4 bytes each as float32), or stored entries of a sparse file. */
  maxValues: number;
  /** Bytes of one line (one record: a quoted field may span physical lines). */
  maxLineBytes: number;
  /** Bytes of one field. */
  maxFieldBytes: number;
}

export type ReadLimitName = keyof ReadLimits;

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/**
 * Defaults sized for a 24 GB server that reads one file at a time:
 * - 8 GiB of text is ~ 1,000,000 cells x 2,000 genes written with 4 decimals;
 * - 2,000,000 cells and 100,000 genes (human + mouse annotations with non-coding
 *   genes stay under 80,000) are above any reference in the literature we use;
 * - 1,000,000,000 values are 4 GB of float32, read into blocks then one array (8 GB peak);
 * - a header of 100,000 genes of ~15 bytes is ~1.5 MB and a data line of 100,000
 *   values ~1 MB, so 16 MiB lines leave ten-fold headroom;
 * - ids, labels and numbers are short: 64 KiB is room for any real one.
 */
export const DEFAULT_READ_LIMITS: Readonly<ReadLimits> = Object.freeze({
  maxDecompressedBytes: 8 * GiB,
  maxCells: 2_000_000,
  maxGenes: 100_000,
  maxValues: 1_000_000_000,
  maxLineBytes: 16 * MiB,
  maxFieldBytes: 64 * 1024,
});

/** Options of the readers that take limits. */
export interface LimitOptions {
  /** Limits to override; the rest keep DEFAULT_READ_LIMITS. */
  limits?: Partial<ReadLimits>;
  /**
   * How a user raises each limit where the file is read (an environment variable of the
   * API, an option of the command line); messages name it. Default: the ReadLimits field.
   */
  limitSettings?: Partial<Record<ReadLimitName, string>>;
}

/** The limits in force and how to name them in a message. */
export interface ResolvedLimits extends ReadLimits {
  settingOf(limit: ReadLimitName): string;
}

export function resolveLimits(opts: LimitOptions = {}): ResolvedLimits {
  const limits: ReadLimits = { ...DEFAULT_READ_LIMITS };
  for (const [name, value] of Object.entries(opts.limits ?? {}) as [ReadLimitName, number | undefined][]) {
    if (value === undefined) continue;
    if (!(value > 0)) throw new RangeError(`read limit ${name} must be a positive number, got ${value}`);
    limits[name] = value;
  }
  const settings = opts.limitSettings ?? {};
  return { ...limits, settingOf: (limit) => settings[limit] ?? `the read limit "${limit}"` };
}

/**
 * An input bigger than a read limit allows. A kind of InputError (the user's file is
 * the problem), told apart so that a server can answer 413 rather than 400.
 */
export class InputLimitError extends InputError {
  constructor(
    message: string,
    readonly limit: ReadLimitName,
    file?: string,
    line?: number,
  ) {
    super(message, file, line);
    this.name = 'InputLimitError';
  }
}

const UNITS: Record<ReadLimitName, string> = {
  maxDecompressedBytes: '',
  maxCells: ' cells',
  maxGenes: ' genes',
  maxValues: ' values',
  maxLineBytes: '',
  maxFieldBytes: '',
};

/**
 * Builds the error: `<file>[, line <n>]: <what> exceeds the limit of <amount> (<limit>);
 * if the file is genuine, raise <setting>`.
 */
export function limitError(
  limits: ResolvedLimits,
  limit: ReadLimitName,
  where: { file: string; line?: number; column?: string },
  what: string,
): InputLimitError {
  const at = [where.file, where.line === undefined ? '' : `line ${where.line}`, where.column ?? '']
    .filter(Boolean)
    .join(', ');
  const value = limits[limit];
  const amount = /Bytes$/.test(limit)
    ? formatBytes(value)
    : `${value.toLocaleString('en-US')}${UNITS[limit]}`;
  return new InputLimitError(
    `${at}: ${what} exceeds the limit of ${amount} (${limit}); ` +
      `if the file is genuine, raise ${limits.settingOf(limit)}`,
    limit,
    where.file,
    where.line,
  );
}

function formatBytes(n: number): string {
  if (n >= GiB && n % GiB === 0) return `${n / GiB} GiB`;
  if (n >= MiB && n % MiB === 0) return `${n / MiB} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n.toLocaleString('en-US')} bytes`;
}
