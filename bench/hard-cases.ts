import { BenchUsageError } from './datasets';

/**
 * The hard evaluation cases of issue 11, as data: each is a way of cutting one scenario of
 * ../shared/datasets (which reference files play the institutions, and which of their cells),
 * always scored on that scenario's own query. Names are stable: results and docs refer to them.
 */

/** A scenario folder's files, as its README.md lists them. */
export interface ScenarioFiles {
  /** Reference file names without `.csv`, in the order `npm run bench` reads them (sorted). */
  references: readonly string[];
  /** The query file name without `.csv` (its labels are `<query>.labels.tsv`). */
  query: string;
  /** The cell types of the query (README.md); the leave-one-type-out cases hold out each. */
  queryTypes: readonly string[];
}

export const SCENARIOS: Readonly<Record<string, ScenarioFiles>> = {
  pancreas: {
    references: ['baron_human', 'wang'],
    query: 'xin',
    queryTypes: ['alpha', 'beta', 'delta', 'gamma'],
  },
  pbmc: {
    references: ['pbmc3k_10x_v1', 'pbmc_10x_3p_v2', 'pbmc_10x_5p_vdj'],
    query: 'pbmc_10x_3p_v3',
    queryTypes: ['B cells', 'Monocytes', 'T/NK cells'],
  },
  cellline: {
    references: ['celseq2_3cl', 'celseq2_5cl_p1', 'celseq2_5cl_p2', 'celseq2_5cl_p3'],
    query: 'dropseq_3cl',
    queryTypes: ['H1975', 'H2228', 'HCC827'],
  },
};

export type HardCaseKind = 'scenario' | 'single-study' | 'subsampled' | 'leave-one-type-out';

export interface HardCase {
  /** Stable name, `<scenario>:<cut>`, e.g. `pancreas:wang-only`. */
  name: string;
  kind: HardCaseKind;
  scenario: string;
  /** The reference files (names without `.csv`) that play the institutions, one each. */
  references: readonly string[];
  /** Subsampled cases: at most this many cells of each type, drawn per institution. */
  cellsPerType?: number;
  /** Leave-one-type-out cases: removed from every reference, kept in the query. */
  heldOutType?: string;
}

/** The seed of the subsampling draw: fixed per case, so every training seed and baseline sees the same cells. */
export const SUBSAMPLE_SEED = 20261207;

export const SUBSAMPLE_SIZES = [20, 50] as const;

/** Case-name fragment of a type (`T/NK cells` -> `t-nk-cells`). */
export function slug(type: string): string {
  return type
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

function buildCases(): HardCase[] {
  // The shared scenarios as they are: the yardstick for the baselines (REFERENCE.md has their pooled figures).
  const cases: HardCase[] = Object.entries(SCENARIOS).map(([scenario, files]) => ({
    name: `${scenario}:all-references`,
    kind: 'scenario',
    scenario,
    references: files.references,
  }));
  for (const [scenario, files] of Object.entries(SCENARIOS)) {
    for (const reference of files.references) {
      cases.push({
        name: `${scenario}:${reference}-only`,
        kind: 'single-study',
        scenario,
        references: [reference],
      });
    }
  }
  for (const [scenario, files] of Object.entries(SCENARIOS)) {
    for (const cellsPerType of SUBSAMPLE_SIZES) {
      cases.push({
        name: `${scenario}:${cellsPerType}-per-type`,
        kind: 'subsampled',
        scenario,
        references: files.references,
        cellsPerType,
      });
    }
  }
  // Both at once: one small institution (the example: one CEL-seq2 plate, 150 cells, 3 types).
  for (const [scenario, files] of Object.entries(SCENARIOS)) {
    for (const reference of files.references) {
      for (const cellsPerType of SUBSAMPLE_SIZES) {
        cases.push({
          name: `${scenario}:${reference}-only-${cellsPerType}-per-type`,
          kind: 'subsampled',
          scenario,
          references: [reference],
          cellsPerType,
        });
      }
    }
  }
  for (const [scenario, files] of Object.entries(SCENARIOS)) {
    for (const heldOutType of files.queryTypes) {
      cases.push({
        name: `${scenario}:without-${slug(heldOutType)}`,
        kind: 'leave-one-type-out',
        scenario,
        references: files.references,
        heldOutType,
      });
    }
  }
  return cases;
}

export const HARD_CASES: readonly HardCase[] = buildCases();

/**
 * `--cases`: `all`, kinds (`scenario`, `single-study`, `subsampled`, `leave-one-type-out`), scenarios
 * (`pancreas`) or case names, comma-separated; the cases in list order, each once.
 */
export function selectCases(list: string): HardCase[] {
  const chosen: HardCase[] = [];
  for (const item of list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const matches = HARD_CASES.filter(
      (c) => item === 'all' || c.kind === item || c.scenario === item || c.name === item,
    );
    if (matches.length === 0) {
      throw new BenchUsageError(
        `--cases: unknown case "${item}" (expected all, a kind (scenario, single-study, subsampled, leave-one-type-out), ` +
          `a scenario (${Object.keys(SCENARIOS).join(', ')}) or a case name such as ${HARD_CASES[0].name})`,
      );
    }
    for (const c of matches) if (!chosen.includes(c)) chosen.push(c);
  }
  return chosen;
}

/** `--seeds`: `1-10`, `1,2,5` or a mix (`1-3,7`); `none` runs the baselines only. */
export function parseSeeds(text: string): number[] {
  if (text.trim() === 'none') return [];
  const seeds: number[] = [];
  for (const part of text.split(',').map((s) => s.trim())) {
    const range = /^(\d+)-(\d+)$/.exec(part);
    if (range) {
      const [from, to] = [Number(range[1]), Number(range[2])];
      if (to < from) throw new BenchUsageError(`--seeds: range ${part} runs backwards`);
      for (let s = from; s <= to; s++) seeds.push(s);
    } else if (/^\d+$/.test(part)) {
      seeds.push(Number(part));
    } else {
      throw new BenchUsageError(`--seeds: expected seeds such as 1-10 or 1,2,3, got "${part}"`);
    }
  }
  return [...new Set(seeds)];
}
