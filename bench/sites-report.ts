/** The figures of `bench:sites` (bench/sites-bench.ts) and their markdown table. */
import { median } from './federation-runs';

/** Bytes of one site in one round (or a sum of them): as the link counted, as the platform reports. */
export interface Traffic {
  upLink: number;
  downLink: number;
  upPlatform: number;
  downPlatform: number;
}

export interface SiteRun {
  rate: string;
  seed: number;
  embeddedSeconds: number;
  distributedSeconds: number;
  ratio: number;
  roundMsMedian: number;
  /** Medians over rounds of the slowest worker's training + masking, and of its transfers. */
  computeMsMedian: number;
  transferMsMedian: number;
  /** The median round's up + down bytes per site at the link rate: the transfers' floor. */
  linkMsPerRound: number;
  /** Medians over rounds 2..R of each site's bytes (round 1 also reads the full initial model). */
  perSiteRound: Traffic;
  /** Rounds 1..R, all sites. */
  total: Traffic;
  /** Before round 1 (datasets, key set-up), per site, median over sites. */
  setupPerSite: { upLink: number; downLink: number };
  sameModel: boolean;
  rounds: { round: number; totalMs: number; sites: Record<string, Traffic> }[];
}

export function report(
  runs: SiteRun[],
  meta: { date: Date; machine: string; command: string; settings: Record<string, unknown> },
): string {
  const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '—');
  const mb = (x: number) => f(x / 1e6, 2);
  const row = (r: SiteRun, label: string) =>
    `| ${label} | ${f(r.embeddedSeconds)} | ${f(r.distributedSeconds)} | ${f(r.ratio, 2)} | ` +
    `${f(r.roundMsMedian, 0)} | ${f(r.computeMsMedian, 0)} | ${f(r.transferMsMedian, 0)} | ${f(r.linkMsPerRound, 0)} | ` +
    `${mb(r.perSiteRound.upLink)} / ${mb(r.perSiteRound.upPlatform)} | ` +
    `${mb(r.perSiteRound.downLink)} / ${mb(r.perSiteRound.downPlatform)} | ` +
    `${f((r.total.upLink + r.total.downLink) / (r.total.upPlatform + r.total.downPlatform), 3)} | ` +
    `${mb(r.setupPerSite.downLink)} | ${r.sameModel ? 'yes' : 'no'} |`;
  const header = [
    '| configuration | embedded s | distributed s | ratio | round ms, median | slowest worker compute ms, median | slowest worker transfers ms, median | link time ms per round (bytes ÷ rate) | MB up per site per round: link / platform | MB down per site per round: link / platform | link ÷ platform bytes, all rounds | MB down per site before round 1 | same model |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  const lines = [
    `# bench:sites, ${meta.date.toISOString()}`,
    '',
    `Command: \`${meta.command}\``,
    '',
    `Machine: ${meta.machine}`,
    '',
    `Settings: ${JSON.stringify(meta.settings)}`,
    '',
    ...header,
    ...runs.map((r) => row(r, `${r.rate}, seed ${r.seed}`)),
  ];
  const rates = [...new Set(runs.map((r) => r.rate))];
  if (runs.length > rates.length) {
    const pick = (xs: SiteRun[], g: (r: SiteRun) => number) => median(xs.map(g));
    lines.push('', 'Medians over seeds:', '', ...header);
    for (const rate of rates) {
      const xs = runs.filter((r) => r.rate === rate);
      const m: SiteRun = {
        ...xs[0],
        embeddedSeconds: pick(xs, (r) => r.embeddedSeconds),
        distributedSeconds: pick(xs, (r) => r.distributedSeconds),
        ratio: pick(xs, (r) => r.ratio),
        roundMsMedian: pick(xs, (r) => r.roundMsMedian),
        computeMsMedian: pick(xs, (r) => r.computeMsMedian),
        transferMsMedian: pick(xs, (r) => r.transferMsMedian),
        linkMsPerRound: pick(xs, (r) => r.linkMsPerRound),
        perSiteRound: {
          upLink: pick(xs, (r) => r.perSiteRound.upLink),
          downLink: pick(xs, (r) => r.perSiteRound.downLink),
          upPlatform: pick(xs, (r) => r.perSiteRound.upPlatform),
          downPlatform: pick(xs, (r) => r.perSiteRound.downPlatform),
        },
        total: {
          upLink: pick(xs, (r) => r.total.upLink),
          downLink: pick(xs, (r) => r.total.downLink),
          upPlatform: pick(xs, (r) => r.total.upPlatform),
          downPlatform: pick(xs, (r) => r.total.downPlatform),
        },
        setupPerSite: {
          upLink: pick(xs, (r) => r.setupPerSite.upLink),
          downLink: pick(xs, (r) => r.setupPerSite.downLink),
        },
        sameModel: xs.every((r) => r.sameModel),
      };
      lines.push(row(m, `${rate}, ${xs.length} seeds`));
    }
  }
  return lines.join('\n');
}
