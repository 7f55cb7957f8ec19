import type { Principal } from '../auth/principal';

/**
 * What a caller may see of each institution's values in a round (losses, per-institution
 * timings) and of each institution's landmark sets (cell types and counts).
 *
 * A member sees its own institution's values only, unless its consortium lets members see every
 * institution's (Consortium.membersSeeInstitutionRounds). What concerns the whole consortium stays
 * visible to all: the mean loss, the aggregator's round timings, participants and dropouts.
 */
export type InstitutionValuesViewer = { sees: 'all' } | { sees: 'own'; institution: string };

export function institutionValuesViewer(
  principal: Principal,
  membersSeeInstitutionRounds: boolean,
): InstitutionValuesViewer {
  if (principal.kind !== 'member' || membersSeeInstitutionRounds) return { sees: 'all' };
  return { sees: 'own', institution: principal.institutionName };
}

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `{ name: value }` with only the viewer's own entry (when it has one). */
function ownEntryOnly(values: unknown, institution: string): JsonObject {
  if (!isObject(values) || !Object.hasOwn(values, institution)) return {};
  return { [institution]: values[institution] };
}

/**
 * Mean of a round's losses ({ institution: loss }), over every institution: the consortium
 * aggregate that anyone may see (the progress events carry the same mean). Null without losses.
 */
export function meanLoss(losses: unknown): number | null {
  if (!isObject(losses)) return null;
  const values = Object.values(losses).filter(
    (v): v is number => typeof v === 'number' && Number.isFinite(v),
  );
  if (values.length === 0) return null;
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}

/**
 * The round as the viewer may see it: `losses` and `timings.institutions` keep only the viewer's
 * own institution; the other timings keys (waitMs, aggregateMs, ...) are round-level and stay.
 */
export function visibleRound<R extends { losses: unknown; timings: unknown }>(
  round: R,
  viewer: InstitutionValuesViewer,
): R {
  if (viewer.sees === 'all') return round;
  // Anything but an object cannot be told apart per institution: nothing of it is shown.
  const timings = isObject(round.timings) ? { ...round.timings } : {};
  if (Object.hasOwn(timings, 'institutions')) {
    timings.institutions = ownEntryOnly(timings.institutions, viewer.institution);
  }
  return { ...round, losses: ownEntryOnly(round.losses, viewer.institution), timings };
}

/** Institution of a merged landmark set (LandmarkSet.institution): a consortium-wide aggregate. */
export const MERGED_LANDMARKS = '*';

/** The landmark sets the viewer may see: its own institution's and merged ones. */
export function visibleLandmarkSets<L extends { institution: string }>(
  sets: L[],
  viewer: InstitutionValuesViewer,
): L[] {
  if (viewer.sees === 'all') return sets;
  return sets.filter((s) => s.institution === viewer.institution || s.institution === MERGED_LANDMARKS);
}
