import type { LinkCounters } from '../scripts/local-stack/netns';

/**
 * Reads every site link's byte counters every few milliseconds while a federation runs, so that
 * the bytes of any time window (a round, from its start to its record in the database) can be
 * read back afterwards, interpolated between the two samples around each end.
 */
export class LinkSampler {
  private readonly samples: { at: number; links: LinkCounters[] }[] = [];
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly read: () => LinkCounters[],
    private readonly everyMs = 20,
  ) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }

  /** The latest counters of every link. */
  latest(): LinkCounters[] {
    return this.samples[this.samples.length - 1].links;
  }

  /** Bytes through each link between two times (ms since the epoch). */
  between(from: number, to: number): LinkCounters[] {
    const a = this.at(from);
    const b = this.at(to);
    return a.map((x, i) => ({ up: b[i].up - x.up, down: b[i].down - x.down }));
  }

  /** Each link's counters at `time`, interpolated; clamped to the first and last samples. */
  at(time: number): LinkCounters[] {
    const s = this.samples;
    if (time <= s[0].at) return s[0].links;
    if (time >= s[s.length - 1].at) return s[s.length - 1].links;
    let hi = s.findIndex((x) => x.at >= time);
    if (hi === 0) hi = 1;
    const lo = s[hi - 1];
    const next = s[hi];
    const f = next.at === lo.at ? 1 : (time - lo.at) / (next.at - lo.at);
    return lo.links.map((l, i) => ({
      up: l.up + f * (next.links[i].up - l.up),
      down: l.down + f * (next.links[i].down - l.down),
    }));
  }

  private sample(): void {
    this.samples.push({ at: Date.now(), links: this.read() });
  }
}
