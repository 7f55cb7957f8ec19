import { describe, expect, it } from 'vitest';
import { report, type SiteRun } from '../../bench/sites-report';

const traffic = (mb: number) => ({
  upLink: mb * 1.06e6,
  downLink: mb * 1.06e6,
  upPlatform: mb * 1e6,
  downPlatform: mb * 1e6,
});
const run = (seed: number, roundMs: number, sameModel = true): SiteRun => ({
  rate: '20mbit',
  seed,
  embeddedSeconds: 10,
  distributedSeconds: roundMs / 100,
  ratio: roundMs / 1000,
  roundMsMedian: roundMs,
  computeMsMedian: 1000,
  transferMsMedian: 8000,
  linkMsPerRound: 8480,
  perSiteRound: traffic(10),
  total: traffic(300),
  setupPerSite: { upLink: 0, downLink: 14e6 },
  sameModel,
  rounds: [],
});
const meta = {
  date: new Date('2026-12-07T00:00:00Z'),
  machine: 'test',
  command: 'npm run bench:sites',
  settings: {},
};

describe('bench:sites report', () => {
  it('has a row per run with link and platform bytes side by side, and medians over seeds', () => {
    const md = report([run(1, 12000), run(2, 14000, false), run(3, 13000)], meta);
    expect(md).toContain(
      '| 20mbit, seed 1 | 10.0 | 120.0 | 12.00 | 12000 | 1000 | 8000 | 8480 | 10.60 / 10.00 | 10.60 / 10.00 | 1.060 | 14.00 | yes |',
    );
    expect(md).toContain('| 20mbit, seed 2 |');
    expect(md).toMatch(
      /Medians over seeds:[\s\S]*\| 20mbit, 3 seeds \| 10\.0 \| 130\.0 \| 13\.00 \| 13000 \|[^\n]*\| no \|/,
    );
  });

  it('has no medians table with one seed per rate', () => {
    expect(report([run(1, 12000)], meta)).not.toContain('Medians over seeds');
  });
});
