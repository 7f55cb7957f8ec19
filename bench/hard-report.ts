/**
 * The hard-case bench's records and its tables: federated accuracy over seeds against the
 * pooled baselines on the same cells, and (leave-one-type-out) where the held-out cells went.
 */
import type { CaseScore, NovelDetection } from './hard-scoring';
import type { HardCaseKind } from './hard-cases';

/** One federated run (published defaults) of one case and seed. */
export interface FederatedRecord extends CaseScore {
  case: string;
  seed: number;
  /** The training preset (absent in runs saved before presets: published). */
  preset?: string;
  trainingSeconds: number;
  /** Leave-one-type-out runs only: every query cell's label and Pearson confidence, for AUROC later. */
  cells?: { ids: string[]; labels: string[]; confidence: number[] };
  /** Leave-one-type-out runs: how well the confidence tells the held-out type from the known ones. */
  novel?: NovelDetection;
  /** `--softmax-head`: the query's accuracy with a softmax head on the embedding, per C. */
  softmaxHead?: { C: number; accuracy: number }[];
}

export interface BaselineScore extends CaseScore {
  seconds: number;
  /** Logistic regression: the optimiser's steps and final objective. */
  steps?: number;
  finalLoss?: number;
}

/** What is known of a case once its cells are cut, and the baselines' scores (deterministic: once per case). */
export interface CaseRecord {
  case: string;
  kind: HardCaseKind;
  institutions: number;
  referenceCells: number;
  types: string[];
  genes: number;
  queryCells: number;
  lr?: BaselineScore;
  /** Logistic regression on the shared genes, standardised (`--baselines lr-std`). */
  lrStd?: BaselineScore;
  centroid?: BaselineScore;
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Per case: federated accuracy over its seeds, the spread, and the baselines on the same cells. */
export interface CaseSummary {
  case: string;
  /** The federated runs' preset ('published' for runs saved before presets). */
  preset: string;
  referenceCells: number;
  types: number;
  scoredCells: number;
  excludedCells: number;
  seeds: number[];
  median: number;
  min: number;
  max: number;
  /** max - min over the seeds, in accuracy units. */
  spread: number;
  lr?: number;
  lrStd?: number;
  centroid?: number;
  /** Federated median - LR, in accuracy units. */
  gap?: number;
  /** Federated median - the standardised LR, in accuracy units. */
  gapStd?: number;
}

export const presetOf = (r: FederatedRecord): string => r.preset ?? 'published';

/** One row per case and preset run (a case without federated runs: one row, published). */
export function summarise(cases: readonly CaseRecord[], runs: readonly FederatedRecord[]): CaseSummary[] {
  return cases.flatMap((c) => {
    const mine = runs.filter((r) => r.case === c.case);
    const presets = [...new Set(mine.map(presetOf))];
    return (presets.length ? presets : ['published']).map((preset) => summariseOne(c, preset, mine));
  });
}

function summariseOne(c: CaseRecord, preset: string, caseRuns: readonly FederatedRecord[]): CaseSummary {
  {
    const rs = caseRuns.filter((r) => presetOf(r) === preset);
    const acc = rs.map((r) => r.accuracy);
    const med = median(acc);
    const [min, max] = acc.length ? [Math.min(...acc), Math.max(...acc)] : [NaN, NaN];
    const scored = rs[0] ?? c.lr ?? c.centroid;
    return {
      case: c.case,
      preset,
      referenceCells: c.referenceCells,
      types: c.types.length,
      scoredCells: scored?.scoredCells ?? NaN,
      excludedCells: scored?.excludedCells ?? NaN,
      seeds: rs.map((r) => r.seed),
      median: med,
      min,
      max,
      spread: max - min,
      lr: c.lr?.accuracy,
      lrStd: c.lrStd?.accuracy,
      centroid: c.centroid?.accuracy,
      gap: c.lr ? med - c.lr.accuracy : undefined,
      gapStd: c.lrStd ? med - c.lrStd.accuracy : undefined,
    };
  }
}

const f3 = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '—' : x.toFixed(3));
const pct0 = (x: number) => (Number.isNaN(x) ? '—' : `${(100 * x).toFixed(0)}%`);
const pts = (x: number | undefined) =>
  x === undefined || Number.isNaN(x) ? '—' : `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}`;

/** A seed list as ranges (1-10, 12). */
export function seedText(seeds: readonly number[]): string {
  const s = [...seeds].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < s.length;) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j] + 1) j++;
    parts.push(j > i ? `${s[i]}-${s[j]}` : `${s[i]}`);
    i = j + 1;
  }
  return parts.join(', ') || '—';
}

export function accuracyTable(rows: readonly CaseSummary[]): string {
  return [
    '| case | preset | reference cells | types | query cells scored (excluded) | seeds | federated accuracy, median | min-max | spread, points | pooled LR | pooled LR, standardised | nearest centroid | gap (median - LR), points | gap (median - standardised LR), points |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.case} | ${r.preset} | ${r.referenceCells} | ${r.types} | ${r.scoredCells} (${r.excludedCells}) | ${seedText(r.seeds)} | ` +
        `${f3(r.median)} | ${f3(r.min)}-${f3(r.max)} | ${pts(r.spread).replace('+', '')} | ${f3(r.lr)} | ${f3(r.lrStd)} | ${f3(r.centroid)} | ${pts(r.gap)} | ${pts(r.gapStd)} |`,
    ),
  ].join('\n');
}

/** `auto` on a query without the novel cells: median (max) known unassigned; — for runs scored before. */
function withoutNovel(scored: readonly NovelDetection[]): string {
  const xs = scored.flatMap((n) => (n.autoWithoutNovel ? [n.autoWithoutNovel.knownRejected] : []));
  return xs.length ? `${pct0(median(xs))} (${pct0(Math.max(...xs))})` : '—';
}

/**
 * Leave-one-type-out cases: accuracy on the other (known) cells; how well the confidence tells
 * the held-out type's cells from the known ones (AUROC, `--reject-threshold auto`, and the best
 * single threshold as a bound); and the labels the held-out cells got before any rejection.
 */
export function heldOutTable(runs: readonly FederatedRecord[]): string {
  const byCase = new Map<string, FederatedRecord[]>();
  for (const r of runs) {
    if (!r.heldOut) continue;
    const key = `${r.case} | ${presetOf(r)}`;
    byCase.set(key, [...(byCase.get(key) ?? []), r]);
  }
  const rows = [...byCase].map(([name, rs]) => {
    const h = rs[0].heldOut!;
    const labels = [...new Set(rs.flatMap((r) => Object.keys(r.heldOut!.predicted)))];
    const fractions = labels
      .map((l) => [l, median(rs.map((r) => r.heldOut!.predicted[l] ?? 0))] as const)
      .sort((a, b) => b[1] - a[1])
      .map(([l, m]) => `${l} ${m.toFixed(2)}`)
      .join(', ');
    const acc = rs.map((r) => r.accuracy);
    const scored = rs.filter((r) => r.novel).map((r) => r.novel!);
    const med = (pick: (n: NovelDetection) => number) => (scored.length ? median(scored.map(pick)) : NaN);
    const minAuroc = scored.length ? Math.min(...scored.map((n) => n.auroc)) : NaN;
    return (
      `| ${name} | ${h.type} | ${h.cells} | ${seedText(rs.map((r) => r.seed))} | ${f3(median(acc))} ` +
      `(${f3(Math.min(...acc))}-${f3(Math.max(...acc))}) | ${f3(med((n) => n.auroc))} (${f3(minAuroc)}) | ` +
      `${pct0(med((n) => n.auto.novelRejected))} / ${pct0(med((n) => n.auto.knownRejected))} | ` +
      `${withoutNovel(scored)} | ` +
      `${pct0(med((n) => n.oracleAt5.novelRejected))} | ${fractions} |`
    );
  });
  return [
    '| case | preset | held-out type | its query cells | seeds | accuracy on the other cells, median (min-max) | novel vs known AUROC, median (min) | `auto`: novel / known unassigned, median | `auto` on the known cells alone: unassigned, median (max) | best threshold with <= 5% known unassigned: novel unassigned, median | held-out cells labelled as, before rejection (median fraction over seeds) |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

/** The accuracy table, and the held-out table when there are leave-one-type-out runs. */
export function resultTables(cases: readonly CaseRecord[], runs: readonly FederatedRecord[]): string {
  const heldOut = runs.some((r) => r.heldOut) ? `\n\n${heldOutTable(runs)}` : '';
  const head = runs.some((r) => r.softmaxHead) ? `\n\n${softmaxHeadTable(cases, runs)}` : '';
  return accuracyTable(summarise(cases, runs)) + heldOut + head;
}

/**
 * `--softmax-head` runs: per case and C, the head's median accuracy (min-max) beside the
 * landmarks' median on the same seeds and the pooled LR.
 */
export function softmaxHeadTable(cases: readonly CaseRecord[], runs: readonly FederatedRecord[]): string {
  const withHead = runs.filter((r) => r.softmaxHead);
  const keys = [...new Set(withHead.map((r) => `${r.case} | ${presetOf(r)}`))];
  const cs = [...new Set(withHead.flatMap((r) => r.softmaxHead!.map((h) => h.C)))].sort((a, b) => a - b);
  const rows = keys.map((key) => {
    const rs = withHead.filter((r) => `${r.case} | ${presetOf(r)}` === key);
    const lr = cases.find((c) => c.case === rs[0].case)?.lr?.accuracy;
    const cells = cs.map((C) => {
      const acc = rs.flatMap((r) => r.softmaxHead!.filter((h) => h.C === C).map((h) => h.accuracy));
      return acc.length ? `${f3(median(acc))} (${f3(Math.min(...acc))}-${f3(Math.max(...acc))})` : '—';
    });
    return `| ${key} | ${seedText(rs.map((r) => r.seed))} | ${f3(median(rs.map((r) => r.accuracy)))} | ${cells.join(' | ')} | ${f3(lr)} |`;
  });
  return [
    `| case | preset | seeds | landmarks, median | ${cs.map((C) => `softmax head C ${C}, median (min-max)`).join(' | ')} | pooled LR |`,
    `|---|---|---|---|${cs.map(() => '---|').join('')}---|`,
    ...rows,
  ].join('\n');
}

/** What `--report` reads: bench-output/hard-cases-<date>.json files. */
export interface SavedRun {
  date: string;
  command: string;
  cases: CaseRecord[];
  runs: FederatedRecord[];
}

/** Several saved runs as one table (a case measured twice keeps its last record and every run). */
export function mergeSaved(saved: readonly SavedRun[]): { cases: CaseRecord[]; runs: FederatedRecord[] } {
  const cases = new Map<string, CaseRecord>();
  for (const s of saved) for (const c of s.cases) cases.set(c.case, c);
  return { cases: [...cases.values()], runs: saved.flatMap((s) => s.runs) };
}
