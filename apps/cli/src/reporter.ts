import { SingleBar, Presets } from 'cli-progress';

/**
 * Everything the command line tells a person goes through here, to stderr, so that stdout
 * carries only the machine-readable summary of `--json`. Progress bars draw only on a
 * terminal; elsewhere (CI logs, pipes) a few plain lines say the same.
 */
export class Reporter {
  constructor(
    private readonly quiet = false,
    private readonly interactive = process.stderr.isTTY === true,
  ) {}

  info(message: string): void {
    if (!this.quiet) process.stderr.write(`${message}\n`);
  }

  warn(message: string): void {
    process.stderr.write(`warning: ${message}\n`);
  }

  /** A progress bar over `total` units; `label` says what is being done. */
  progress(label: string, total: number, unit: string): Progress {
    if (this.quiet) return new SilentProgress();
    if (!this.interactive) return new LineProgress(label, total, unit);
    const bar = new SingleBar(
      {
        format: `${label.padEnd(28)} [{bar}] {percentage}% | {value}/{total} ${unit} | {eta_formatted} left {detail}`,
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 50,
      },
      Presets.shades_classic,
    );
    bar.start(total, 0, { detail: '' });
    return {
      update: (value, detail) => bar.update(value, { detail: detail ?? '' }),
      stop: () => bar.stop(),
    };
  }
}

export interface Progress {
  update(value: number, detail?: string): void;
  stop(): void;
}

class SilentProgress implements Progress {
  update(): void {}
  stop(): void {}
}

/** Non-terminal output: one line at 0%, every 25%, and at the end. */
class LineProgress implements Progress {
  private nextQuarter = 1;
  private last = 0;
  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly unit: string,
  ) {}

  update(value: number, detail?: string): void {
    this.last = value;
    if (this.total > 0 && value >= (this.nextQuarter * this.total) / 4 && value < this.total) {
      process.stderr.write(`${this.label}: ${value}/${this.total} ${this.unit} ${detail ?? ''}\n`);
      while (value >= (this.nextQuarter * this.total) / 4) this.nextQuarter++;
    }
  }

  stop(): void {
    process.stderr.write(`${this.label}: ${this.last}/${this.total} ${this.unit} done\n`);
  }
}
