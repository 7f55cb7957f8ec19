// Pure helpers of the dashboard: rounds and federations as the api's GraphQL returns them, turned
// into what the page shows (numbers, labels, chart data, the Vega-Lite chart). No DOM, no fetch:
// the page imports this module, and so do the unit tests (apps/dashboard/src/rounds.spec.ts).

/**
 * Name of the mean-loss series in the chart. It has a space, and institution names never do
 * (lower-case letters, digits and dashes), so it cannot clash with an institution called "mean".
 */
export const MEAN_SERIES = 'mean loss';

/** Federation statuses in which the aggregator may still change it. */
const ACTIVE = new Set(['pending', 'running']);

/** Round statuses that no longer change (a failed round is retried under the same number). */
const SETTLED_ROUND = new Set(['completed']);

export function isActive(status) {
  return ACTIVE.has(status);
}

/** An admin may cancel what is pending or running, and resume what stopped without completing. */
export function allowedActions(status, kind) {
  if (kind !== 'admin') return { cancel: false, resume: false };
  return { cancel: isActive(status), resume: status === 'failed' || status === 'cancelled' };
}

/** `{ institution: loss }` (a JSON scalar) as [institution, loss] pairs, finite numbers only. */
export function lossEntries(losses) {
  if (!losses || typeof losses !== 'object') return [];
  return Object.entries(losses).filter(([, v]) => typeof v === 'number' && Number.isFinite(v));
}

/** Mean of the institutions' losses in a round (as the aggregator reports it), or null. */
export function meanLoss(losses) {
  const values = lossEntries(losses).map(([, v]) => v);
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
}

/** Wall-clock seconds of a round: the aggregator's timings.totalMs, else finishedAt − startedAt. */
export function roundSeconds(round) {
  const totalMs = round.timings?.totalMs;
  if (typeof totalMs === 'number' && Number.isFinite(totalMs)) return totalMs / 1000;
  if (!round.finishedAt || !round.startedAt) return null;
  const ms = Date.parse(round.finishedAt) - Date.parse(round.startedAt);
  return Number.isFinite(ms) ? ms / 1000 : null;
}

/** Institutions in the federation's order, then any others that reported a loss. */
export function institutionsOf(federation, rounds = []) {
  const names = Array.isArray(federation?.participants)
    ? federation.participants.map((p) => p?.institution).filter((n) => typeof n === 'string')
    : [];
  const seen = new Set(names);
  for (const round of rounds) {
    for (const [name] of lossEntries(round.losses)) {
      if (!seen.has(name)) {
        seen.add(name);
        names.push(name);
      }
    }
  }
  return names;
}

/** Rounds done and planned: `{ current, total }` (total null when the options lack it). */
export function progressOf(federation) {
  const total = federation?.options?.rounds;
  return {
    current: federation?.currentRound ?? 0,
    total: typeof total === 'number' ? total : null,
  };
}

export function formatProgress(federation) {
  const { current, total } = progressOf(federation);
  return total === null ? `round ${current}` : `round ${current} of ${total}`;
}

/**
 * How the federation aggregates, for its summary line, from its options (null when they do not
 * say). A federation of one runs without secure aggregation, and its options say why.
 */
export function formatAggregation(federation) {
  const options = federation?.options ?? {};
  const skipped = options.secureAggregationSkipped;
  if (skipped) {
    return skipped.reason === 'single-institution'
      ? 'no secure aggregation (one institution: nothing to aggregate)'
      : 'secure aggregation skipped';
  }
  if (options.secureAggregation === true) return 'secure aggregation';
  if (options.secureAggregation === false) return 'secure aggregation off';
  return null;
}

export function formatLoss(loss) {
  return typeof loss === 'number' && Number.isFinite(loss) ? loss.toFixed(4) : '—';
}

export function formatSeconds(seconds) {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return '—';
  return seconds < 10 ? seconds.toFixed(2) : seconds.toFixed(1);
}

export function formatBytes(bytes) {
  if (typeof bytes !== 'number' || !Number.isFinite(bytes)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** What retention keeps a model version as (the api's ModelVersion.kind), in words. */
const VERSION_KINDS = {
  final: 'final model',
  checkpoint: 'checkpoint',
  latest: 'latest round (replaced by the next one)',
  intermediate: 'round',
  imported: 'imported',
};

/** The "Kept as" cell of a model version: its kind, and whether an admin pinned it. */
export function versionRetention(version) {
  const kind = VERSION_KINDS[version.kind] ?? version.kind ?? '';
  return version.pinned ? `${kind} · pinned` : kind;
}

/** The first 12 hex digits, enough to tell versions apart on screen. */
export function shortSha(sha256) {
  return typeof sha256 === 'string' ? sha256.slice(0, 12) : '';
}

/** The file name of a `Content-Disposition: attachment; filename="..."` header, or `fallback`. */
export function fileNameFromDisposition(header, fallback) {
  const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(header ?? '');
  if (!match) return fallback;
  let name = match[1];
  try {
    name = decodeURIComponent(name);
  } catch {
    // not percent-encoded: keep as is
  }
  // Only the last path segment, so a header cannot suggest a path.
  name = name.split(/[\\/]/).pop().trim();
  return name || fallback;
}

/**
 * Rounds are polled incrementally: the ones before the first unsettled round never change, so
 * each refresh asks for rounds from that offset on (rounds come ordered by number).
 */
export function refetchOffset(known) {
  const index = known.findIndex((r) => !SETTLED_ROUND.has(r.status));
  return index === -1 ? known.length : index;
}

/** `known` with everything from `offset` on replaced by `fetched`. */
export function mergeRounds(known, fetched, offset) {
  return [...known.slice(0, offset), ...fetched];
}

/**
 * Long-format chart data: one `{ round, series, loss }` per institution loss shown, plus the mean
 * of each round under MEAN_SERIES: the api's `meanLoss` over every institution when it sends one
 * (a member sees only its own loss, but the consortium's mean), else the mean of `losses`. Rounds
 * without either are skipped.
 */
export function lossChartValues(rounds) {
  const values = [];
  for (const round of rounds) {
    const entries = lossEntries(round.losses);
    const mean = Number.isFinite(round.meanLoss) ? round.meanLoss : meanLoss(round.losses);
    if (mean === null) continue;
    values.push({ round: round.number, series: MEAN_SERIES, loss: mean });
    for (const [institution, loss] of entries)
      values.push({ round: round.number, series: institution, loss });
  }
  return values;
}

/** The data set the chart's values are fed into (view.data(LOSS_DATA, values)). */
export const LOSS_DATA = 'losses';

/**
 * The Vega-Lite spec of the loss-per-round chart: a thick line for the mean, a thin one per
 * institution, colours in a fixed order (mean first, then the federation's institutions) so a
 * line keeps its colour while rounds arrive. The data set is named and empty; the page fills it.
 */
export function lossChartSpec({ institutions, width = 640, height = 280, points = true }) {
  const series = [MEAN_SERIES, ...institutions];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    description:
      'Training loss per round: the mean over the institutions that reported, and one line per institution.',
    width,
    height,
    data: { name: LOSS_DATA },
    mark: { type: 'line', point: points },
    encoding: {
      x: {
        field: 'round',
        type: 'quantitative',
        title: 'Round',
        axis: { format: 'd', tickMinStep: 1 },
      },
      y: { field: 'loss', type: 'quantitative', title: 'Loss', scale: { zero: false } },
      color: {
        field: 'series',
        type: 'nominal',
        title: 'Series',
        scale: { domain: series },
        legend: { title: null, orient: 'bottom', columns: 4 },
      },
      strokeWidth: {
        condition: { test: `datum.series === ${JSON.stringify(MEAN_SERIES)}`, value: 3 },
        value: 1.5,
      },
      tooltip: [
        { field: 'series', type: 'nominal', title: 'Series' },
        { field: 'round', type: 'quantitative', title: 'Round' },
        { field: 'loss', type: 'quantitative', title: 'Loss', format: '.4f' },
      ],
    },
    config: { view: { stroke: null } },
  };
}
