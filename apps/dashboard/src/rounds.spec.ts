import { parse, View } from 'vega';
import { compile } from 'vega-lite';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain browser ES module without types (served to the page as is)
import * as sut from '../public/rounds.js';

interface RoundLike {
  number: number;
  status: string;
  losses: unknown;
  timings?: unknown;
  startedAt?: string;
  finishedAt?: string | null;
}

const round = (number: number, losses: unknown, extra: Partial<RoundLike> = {}): RoundLike => ({
  number,
  status: 'completed',
  losses,
  ...extra,
});

const federation = {
  id: 'f1',
  name: 'pbmc',
  status: 'running',
  options: { rounds: 100 },
  currentRound: 7,
  participants: [
    { institution: 'site-a', datasetIds: ['d1'] },
    { institution: 'site-b', datasetIds: ['d2'] },
  ],
};

describe('rounds.js', () => {
  describe('versionRetention', () => {
    it('should say what retention keeps a version as, and whether it is pinned', () => {
      expect(sut.versionRetention({ kind: 'final', pinned: false })).toBe('final model');
      expect(sut.versionRetention({ kind: 'checkpoint', pinned: true })).toBe('checkpoint · pinned');
      expect(sut.versionRetention({ kind: 'latest', pinned: false })).toBe(
        'latest round (replaced by the next one)',
      );
      expect(sut.versionRetention({ kind: 'intermediate', pinned: true })).toBe('round · pinned');
      expect(sut.versionRetention({ kind: 'imported', pinned: false })).toBe('imported');
    });
  });

  describe('meanLoss', () => {
    it('should average the finite losses of a round', () => {
      expect(sut.meanLoss({ 'site-a': 1, 'site-b': 2, 'site-c': 4.5 })).toBeCloseTo(2.5);
      expect(sut.meanLoss({ 'site-a': 1, 'site-b': null, 'site-c': 'x', 'site-d': Number.NaN })).toBe(1);
    });

    it('should be null when no institution reported', () => {
      expect(sut.meanLoss({})).toBeNull();
      expect(sut.meanLoss(null)).toBeNull();
      expect(sut.meanLoss('nonsense')).toBeNull();
    });
  });

  describe('roundSeconds', () => {
    it("should prefer the aggregator's total time", () => {
      expect(sut.roundSeconds(round(1, {}, { timings: { totalMs: 1234 } }))).toBeCloseTo(1.234);
    });

    it('should fall back to finishedAt − startedAt, and null while running', () => {
      const started = '2025-01-01T00:00:00.000Z';
      expect(
        sut.roundSeconds(
          round(1, {}, { timings: {}, startedAt: started, finishedAt: '2025-01-01T00:00:02.500Z' }),
        ),
      ).toBe(2.5);
      expect(
        sut.roundSeconds(round(1, {}, { timings: {}, startedAt: started, finishedAt: null })),
      ).toBeNull();
    });
  });

  describe('institutionsOf', () => {
    it("should list the federation's institutions in order, then others that reported", () => {
      const rounds = [round(1, { 'site-b': 1, 'site-z': 2 })];
      expect(sut.institutionsOf(federation, rounds)).toEqual(['site-a', 'site-b', 'site-z']);
      expect(sut.institutionsOf({ participants: null }, [])).toEqual([]);
    });
  });

  describe('formatAggregation', () => {
    it('should say whether the federation aggregates securely, and why a federation of one does not', () => {
      expect(sut.formatAggregation({ options: { secureAggregation: true } })).toBe('secure aggregation');
      expect(sut.formatAggregation({ options: { secureAggregation: false } })).toBe('secure aggregation off');
      const skipped = { reason: 'single-institution', message: 'One institution: …' };
      expect(
        sut.formatAggregation({ options: { secureAggregation: false, secureAggregationSkipped: skipped } }),
      ).toBe('no secure aggregation (one institution: nothing to aggregate)');
      expect(sut.formatAggregation(federation)).toBeNull();
    });
  });

  describe('formatProgress', () => {
    it('should say round x of n', () => {
      expect(sut.formatProgress(federation)).toBe('round 7 of 100');
      expect(sut.formatProgress({ currentRound: 3, options: {} })).toBe('round 3');
    });
  });

  describe('allowedActions', () => {
    it('should offer cancel while active and resume once stopped, to admins only', () => {
      expect(sut.allowedActions('running', 'admin')).toEqual({ cancel: true, resume: false });
      expect(sut.allowedActions('pending', 'admin')).toEqual({ cancel: true, resume: false });
      expect(sut.allowedActions('cancelled', 'admin')).toEqual({ cancel: false, resume: true });
      expect(sut.allowedActions('failed', 'admin')).toEqual({ cancel: false, resume: true });
      expect(sut.allowedActions('completed', 'admin')).toEqual({ cancel: false, resume: false });
      expect(sut.allowedActions('running', 'member')).toEqual({ cancel: false, resume: false });
    });
  });

  describe('formatting', () => {
    it('should format losses, seconds, sizes and hashes', () => {
      expect(sut.formatLoss(0.123456)).toBe('0.1235');
      expect(sut.formatLoss(undefined)).toBe('—');
      expect(sut.formatSeconds(1.234)).toBe('1.23');
      expect(sut.formatSeconds(83.21)).toBe('83.2');
      expect(sut.formatSeconds(null)).toBe('—');
      expect(sut.formatBytes(512)).toBe('512 B');
      expect(sut.formatBytes(3 * 1024 * 1024)).toBe('3.0 MiB');
      expect(sut.shortSha('0123456789abcdef0123')).toBe('0123456789ab');
    });
  });

  describe('fileNameFromDisposition', () => {
    it('should take the attachment name, never a path', () => {
      expect(sut.fileNameFromDisposition('attachment; filename="model-r3.tar"', 'x.tar')).toBe(
        'model-r3.tar',
      );
      expect(sut.fileNameFromDisposition('attachment; filename="../../etc/passwd"', 'x.tar')).toBe('passwd');
      expect(sut.fileNameFromDisposition("attachment; filename*=UTF-8''m%20v.tar", 'x.tar')).toBe('m v.tar');
      expect(sut.fileNameFromDisposition(null, 'x.tar')).toBe('x.tar');
      expect(sut.fileNameFromDisposition('attachment', 'x.tar')).toBe('x.tar');
    });
  });

  describe('refetchOffset / mergeRounds', () => {
    it('should refetch from the first round that may still change', () => {
      const known = [round(1, {}), round(2, {}), round(3, {}, { status: 'failed' }), round(4, {})];
      expect(sut.refetchOffset(known)).toBe(2);
      expect(sut.refetchOffset(known.slice(0, 2))).toBe(2);
      expect(sut.refetchOffset([])).toBe(0);
    });

    it('should replace everything from the offset on', () => {
      const known = [round(1, {}), round(2, {}, { status: 'failed' })];
      const fetched = [round(2, { a: 1 }), round(3, { a: 2 })];
      const merged = sut.mergeRounds(known, fetched, sut.refetchOffset(known));
      expect(merged.map((r: RoundLike) => [r.number, r.status])).toEqual([
        [1, 'completed'],
        [2, 'completed'],
        [3, 'completed'],
      ]);
    });
  });

  describe('lossChartValues', () => {
    it('should give one point per institution and the mean per round, skipping empty rounds', () => {
      const values = sut.lossChartValues([
        round(1, { 'site-a': 2, 'site-b': 4 }),
        round(2, {}),
        round(3, { 'site-a': 1 }),
      ]);
      expect(values).toEqual([
        { round: 1, series: sut.MEAN_SERIES, loss: 3 },
        { round: 1, series: 'site-a', loss: 2 },
        { round: 1, series: 'site-b', loss: 4 },
        { round: 3, series: sut.MEAN_SERIES, loss: 1 },
        { round: 3, series: 'site-a', loss: 1 },
      ]);
    });

    it("should draw the api's consortium mean when a member sees only its own loss", () => {
      const values = sut.lossChartValues([
        { ...round(1, { 'site-a': 2 }), meanLoss: 3 },
        { ...round(2, {}), meanLoss: 2.5 },
      ]);
      expect(values).toEqual([
        { round: 1, series: sut.MEAN_SERIES, loss: 3 },
        { round: 1, series: 'site-a', loss: 2 },
        { round: 2, series: sut.MEAN_SERIES, loss: 2.5 },
      ]);
    });

    it('should name the mean so that no institution can take the name', () => {
      expect(sut.MEAN_SERIES).not.toMatch(/^[a-z0-9-]+$/);
    });
  });

  describe('lossChartSpec', () => {
    it('should compile with Vega-Lite and draw a line per series with Vega', async () => {
      const institutions = ['site-a', 'site-b'];
      const rounds = [1, 2, 3, 4].map((n) => round(n, { 'site-a': 2 / n, 'site-b': 3 / n }));
      const spec = sut.lossChartSpec({ institutions, width: 500 });
      const compiled = compile(spec).spec;
      // The page swaps the data of this named set on each refresh.
      expect(compiled.data?.map((d) => d.name)).toContain(sut.LOSS_DATA);
      expect(compiled.description).toMatch(/^Training loss per round/);

      const view = new View(parse(compiled), { renderer: 'none' });
      await view.data(sut.LOSS_DATA, sut.lossChartValues(rounds)).runAsync();
      const svg = await view.toSVG();
      view.finalize();
      expect(svg).toMatch(/^<svg/);
      for (const label of [sut.MEAN_SERIES, 'site-a', 'site-b', 'Round', 'Loss'])
        expect(svg).toContain(label);
      // Three series, three lines: one path per line mark item.
      expect(svg.match(/<path[^>]*aria-roledescription="line mark"/g) ?? []).toHaveLength(3);
      // Vega labels each line for screen readers, thick mean first.
      expect(svg).toContain('aria-label="Round: 1; Loss: 2.5; Series: mean loss"');
      expect(svg).toMatch(/stroke-width="3"/);
    });
  });
});
