import { ProtocolViolation } from './errors';
import { DEFAULT_CLIP, fixedPoint, isLaneBits, type FixedPoint, type LaneBits } from './fixed-point';

/**
 * What every party of one key set-up must agree on. Institutions check that every advertisement
 * states the same values, so an aggregator cannot tell different institutions different thresholds.
 */
export interface SecAggConfig {
  readonly federationId: string;
  /** Key epoch: 0 for the first set-up, one more for every re-key. Bound into every message and key. */
  readonly epoch: number;
  /** The institutions, in the federation's fixed order (the order decides the pair mask signs). */
  readonly roster: readonly string[];
  /** t: shares needed to reconstruct a secret, and survivors needed to finish a round. */
  readonly threshold: number;
  /** Fixed-point clipping range. */
  readonly clip: number;
  /**
   * Lane width of the fixed point and the masks: 32 (weights mode, the default here), 16 (the
   * federation's default for round updates: half the bytes and keystream) or 8. See fixed-point.ts.
   */
  readonly bits: LaneBits;
  /**
   * Pair masks per institution (SecAgg+): each participant masks with its `maskDegree` nearest
   * participants on a ring (a Harary graph, vertex connectivity = maskDegree). At least
   * participants - 1 means every pair (Bonawitz's complete graph, the default). Fewer neighbours
   * cost less but weaken the guarantee: see docs/security.md.
   */
  readonly maskDegree: number;
  /**
   * How the masked vector is bound to its signed header: 'sha256' (default) signs its digest;
   * 'none' only where the vector never leaves the process (embedded runs), saving ~25 ms per 10 M
   * parameters on each side.
   */
  readonly vectorDigest: 'sha256' | 'none';
}

/**
 * Default threshold: a majority, t = floor(K/2) + 1 (at least 2).
 * - t > K/2 is what stops an aggregator that lies from collecting both b_u (from institutions it
 *   told "u survived") and s_u (from institutions it told "u dropped"): each institution answers
 *   one unmask request per round, so that needs two disjoint groups of t, i.e. 2t <= K.
 * - Privacy holds against the aggregator plus up to t - 1 colluding institutions; the round
 *   survives K - t dropouts. A majority balances the two: K = 5 -> t = 3 (2 colluders, 2 dropouts),
 *   K = 10 -> t = 6 (5 colluders, 4 dropouts); K = 2 -> t = 2 (no dropout can be absorbed).
 */
export function defaultThreshold(k: number): number {
  return Math.max(2, Math.floor(k / 2) + 1);
}

const RESERVED = new Set(['server', '*']);

export function makeConfig(opts: {
  federationId: string;
  roster: readonly string[];
  threshold?: number;
  epoch?: number;
  clip?: number;
  bits?: LaneBits;
  maskDegree?: number;
  vectorDigest?: 'sha256' | 'none';
}): SecAggConfig {
  const config: SecAggConfig = {
    federationId: opts.federationId,
    epoch: opts.epoch ?? 0,
    roster: [...opts.roster],
    threshold: opts.threshold ?? defaultThreshold(opts.roster.length),
    clip: opts.clip ?? DEFAULT_CLIP,
    bits: opts.bits ?? 32,
    maskDegree: opts.maskDegree ?? opts.roster.length - 1,
    vectorDigest: opts.vectorDigest ?? 'sha256',
  };
  validateConfig(config);
  return config;
}

export function validateConfig(c: SecAggConfig): void {
  const k = c.roster.length;
  const fail = (why: string) => {
    throw new ProtocolViolation('setup', why);
  };
  if (!c.federationId) fail('federationId is empty');
  if (!Number.isInteger(c.epoch) || c.epoch < 0 || c.epoch > 0xffffffff) fail(`bad key epoch ${c.epoch}`);
  if (k < 2 || k > 255) fail(`secure aggregation needs 2..255 institutions, got ${k}`);
  if (new Set(c.roster).size !== k) fail('institution names repeat');
  for (const id of c.roster)
    if (!id || RESERVED.has(id)) fail(`institution name '${id}' is reserved or empty`);
  const t = c.threshold;
  if (!Number.isInteger(t) || t < 2 || t > k) fail(`threshold ${t} must be an integer in [2, ${k}]`);
  if (2 * t <= k) fail(`threshold ${t} must be a majority of ${k} institutions (see defaultThreshold)`);
  if (!(c.clip > 0) || !Number.isFinite(c.clip)) fail(`clip ${c.clip} must be a positive number`);
  if (!isLaneBits(c.bits)) fail(`bits ${c.bits} must be 8, 16 or 32`);
  try {
    fixedPoint(k, c.clip, c.bits);
  } catch (e) {
    fail((e as Error).message);
  }
  const d = c.maskDegree;
  if (!Number.isInteger(d) || d < 1 || (d < k - 1 && (d < 2 || d % 2 !== 0))) {
    fail(`maskDegree ${d} must be an even number >= 2, or >= ${k - 1} for every pair`);
  }
  if (c.vectorDigest !== 'sha256' && c.vectorDigest !== 'none')
    fail(`unknown vectorDigest ${c.vectorDigest}`);
}

/**
 * The participants `u` exchanges pair masks with this round: all others for the complete graph,
 * else the maskDegree/2 nearest on each side of the ring of participants (roster order). Built on
 * the round's participants, not the roster, so institutions absent at the start leave no gaps.
 * Symmetric: v is u's neighbour exactly when u is v's.
 */
export function maskNeighbours(c: SecAggConfig, participants: readonly string[], u: string): string[] {
  const n = participants.length;
  const i = participants.indexOf(u);
  if (i < 0) throw new ProtocolViolation('bad-participants', `${u} is not a participant`);
  if (c.maskDegree >= n - 1) return participants.filter((v) => v !== u);
  const out = new Set<string>();
  for (let j = 1; j <= c.maskDegree / 2; j++) {
    out.add(participants[(i + j) % n]);
    out.add(participants[(i - j + n) % n]);
  }
  return inRosterOrder(c, out);
}

/** The fixed-point encoding a federation uses: chosen so the sum of all K inputs never wraps. */
export function configFixedPoint(c: SecAggConfig): FixedPoint {
  return fixedPoint(c.roster.length, c.clip, c.bits);
}

/** Canonical order of participants: roster order. */
export function inRosterOrder(c: SecAggConfig, ids: Iterable<string>): string[] {
  const rank = new Map(c.roster.map((id, i) => [id, i]));
  return [...ids].sort((a, b) => (rank.get(a) ?? Infinity) - (rank.get(b) ?? Infinity));
}

/** +1 when `u` comes before `v` in the roster: u adds the pair mask, v subtracts it. */
export function pairSign(c: SecAggConfig, u: string, v: string): 1 | -1 {
  return c.roster.indexOf(u) < c.roster.indexOf(v) ? 1 : -1;
}

/** Whether an advertisement states exactly this configuration (everything but the keys). */
export function sameConfig(
  ad: {
    epoch: number;
    roster: readonly string[];
    threshold: number;
    clip: number;
    bits: number;
    maskDegree: number;
    vectorDigest: string;
  },
  c: SecAggConfig,
): boolean {
  return (
    ad.epoch === c.epoch &&
    ad.threshold === c.threshold &&
    ad.clip === c.clip &&
    ad.bits === c.bits &&
    ad.maskDegree === c.maskDegree &&
    ad.vectorDigest === c.vectorDigest &&
    ad.roster.length === c.roster.length &&
    ad.roster.every((r, i) => r === c.roster[i])
  );
}
