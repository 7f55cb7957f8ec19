/**
 * The secure-aggregation halves of `npm run bench` (issue 8):
 * - `--compare-secure`: plain and secure federations back to back, per scenario and seed, in one
 *   run (their time ratio shares the machine's conditions); accuracy and agreement of predictions.
 * - `--schedules 300x1,60x5,...`: rounds x local steps with secure aggregation on, to find a
 *   schedule that sends fewer bytes at the published accuracy.
 */

export interface CaseResult {
  scenario: string;
  seed: number;
  genes: number;
  institutions: number;
  rounds: number;
  accuracy: number;
  trainingSeconds: number;
  labels: string[];
}

export interface CaseSpec {
  dir: string;
  seed: number;
  rounds: number;
  localSteps: number;
  secure: boolean;
  bits: 8 | 16 | 32;
}

export type RunCase = (spec: CaseSpec) => CaseResult;

export interface SecureComparison {
  scenario: string;
  seed: number;
  bits: number;
  plainTrainingSeconds: number;
  secureTrainingSeconds: number;
  /** secure / plain */
  ratio: number;
  plainAccuracy: number;
  secureAccuracy: number;
  /** Fraction of query cells given the same label. */
  samePredictions: number;
}

export interface ScheduleResult {
  scenario: string;
  seed: number;
  rounds: number;
  localSteps: number;
  bits: number;
  accuracy: number;
  trainingSeconds: number;
  /** Bytes one institution sends and receives over the whole federation (masked updates + aggregates). */
  bytesPerInstitution: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Parameters of the published model shape (hidden 500, embedding 20) over `genes` inputs. */
export function parameterCount(genes: number, hidden = 500, embedding = 20): number {
  return genes * hidden + hidden + hidden * embedding + embedding;
}

/** Both directions, every round: the masked update up and the round's aggregate down. */
export function federationBytes(genes: number, rounds: number, bits: number): number {
  const words = Math.ceil((parameterCount(genes) * bits) / 32);
  return 2 * rounds * words * 4;
}

export function compareSecure(
  run: RunCase,
  dir: string,
  seed: number,
  o: { rounds: number; bits: 8 | 16 | 32 },
  log: (line: string) => void,
): SecureComparison {
  const base = { dir, seed, rounds: o.rounds, localSteps: 1, bits: o.bits };
  const plain = run({ ...base, secure: false });
  const secure = run({ ...base, secure: true });
  const same = plain.labels.filter((l, i) => l === secure.labels[i]).length;
  const row: SecureComparison = {
    scenario: plain.scenario,
    seed,
    bits: o.bits,
    plainTrainingSeconds: plain.trainingSeconds,
    secureTrainingSeconds: secure.trainingSeconds,
    ratio: secure.trainingSeconds / plain.trainingSeconds,
    plainAccuracy: plain.accuracy,
    secureAccuracy: secure.accuracy,
    samePredictions: same / plain.labels.length,
  };
  log(
    `${row.scenario}, seed ${seed}, ${o.bits}-bit secure aggregation: training ${row.secureTrainingSeconds.toFixed(1)} s ` +
      `vs ${row.plainTrainingSeconds.toFixed(1)} s plain (${row.ratio.toFixed(2)}x), accuracy ` +
      `${row.secureAccuracy.toFixed(3)} vs ${row.plainAccuracy.toFixed(3)}, same predictions ${(row.samePredictions * 100).toFixed(2)}%`,
  );
  return row;
}

/** One row per scenario: medians over seeds of the time ratio and of each accuracy. */
export function secureCompareTable(rows: readonly SecureComparison[]): string {
  const by = groupBy(rows, (r) => `${r.scenario}|${r.bits}`);
  const lines = [...by.values()].map((rs) => {
    const r0 = rs[0];
    const plainAcc = median(rs.map((r) => r.plainAccuracy));
    const secureAcc = median(rs.map((r) => r.secureAccuracy));
    return (
      `| ${r0.scenario} | ${r0.bits} | ${rs.map((r) => r.seed).join(', ')} | ` +
      `${median(rs.map((r) => r.plainTrainingSeconds)).toFixed(1)} | ${median(rs.map((r) => r.secureTrainingSeconds)).toFixed(1)} | ` +
      `${median(rs.map((r) => r.ratio)).toFixed(2)}x (${rs.map((r) => r.ratio.toFixed(2)).join(', ')}) | ` +
      `${plainAcc.toFixed(3)} / ${secureAcc.toFixed(3)} (${((secureAcc - plainAcc) * 100).toFixed(1)} pt) | ` +
      `${(Math.min(...rs.map((r) => r.samePredictions)) * 100).toFixed(2)}% |`
    );
  });
  return [
    '| scenario | bits | seeds | training s, plain (median) | training s, secure (median) | secure / plain, median (per seed) | accuracy plain / secure, median (difference) | same predictions, worst seed |',
    '|---|---|---|---|---|---|---|---|',
    ...lines,
  ].join('\n');
}

export function parseSchedules(list: string): { rounds: number; localSteps: number }[] {
  return list.split(',').map((s) => {
    const m = /^(\d+)x(\d+)$/.exec(s.trim());
    if (!m) throw new Error(`--schedules: "${s}" is not ROUNDSxSTEPS (e.g. 60x5)`);
    return { rounds: Number(m[1]), localSteps: Number(m[2]) };
  });
}

export function runSchedule(
  run: RunCase,
  dir: string,
  seed: number,
  schedule: { rounds: number; localSteps: number },
  bits: 8 | 16 | 32,
  log: (line: string) => void,
): ScheduleResult {
  const r = run({ dir, seed, ...schedule, secure: true, bits });
  const row: ScheduleResult = {
    scenario: r.scenario,
    seed,
    ...schedule,
    bits,
    accuracy: r.accuracy,
    trainingSeconds: r.trainingSeconds,
    bytesPerInstitution: federationBytes(r.genes, schedule.rounds, bits),
  };
  log(
    `${row.scenario}, seed ${seed}, ${schedule.rounds} rounds x ${schedule.localSteps} local steps (secure, ${bits}-bit): ` +
      `accuracy ${row.accuracy.toFixed(3)}, training ${row.trainingSeconds.toFixed(1)} s, ` +
      `${(row.bytesPerInstitution / 1e9).toFixed(2)} GB per institution`,
  );
  return row;
}

/** Accuracy (median of seeds) per scenario and schedule, and its distance to the first schedule's. */
export function scheduleTable(rows: readonly ScheduleResult[]): string {
  const by = groupBy(rows, (r) => `${r.scenario}|${r.rounds}x${r.localSteps}`);
  const baseline = new Map<string, number>();
  const lines = [...by.values()].map((rs) => {
    const r0 = rs[0];
    const acc = median(rs.map((r) => r.accuracy));
    if (!baseline.has(r0.scenario)) baseline.set(r0.scenario, acc);
    const delta = (acc - baseline.get(r0.scenario)!) * 100;
    return (
      `| ${r0.scenario} | ${r0.rounds} x ${r0.localSteps} | ${rs.map((r) => r.seed).join(', ')} | ` +
      `${acc.toFixed(3)} (${rs.map((r) => r.accuracy.toFixed(3)).join(', ')}) | ${delta >= 0 ? '+' : ''}${delta.toFixed(1)} | ` +
      `${median(rs.map((r) => r.trainingSeconds)).toFixed(1)} | ${(r0.bytesPerInstitution / 1e6).toFixed(0)} |`
    );
  });
  return [
    '| scenario | rounds x local steps | seeds | accuracy, median (per seed) | points vs the first schedule | training s, median | MB per institution per federation (up + down) |',
    '|---|---|---|---|---|---|---|',
    ...lines,
  ].join('\n');
}

function groupBy<T>(rows: readonly T[], key: (r: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const r of rows) out.set(key(r), [...(out.get(key(r)) ?? []), r]);
  return out;
}
