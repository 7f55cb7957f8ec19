import { Inject, Injectable } from '@nestjs/common';
import { PRISMA, type Db } from '../infra/tokens';
import type { InstitutionLastRound } from './models/institution-last-round.model';

/** The latest round an institution survived, with what the console shows of it. */
export interface InstitutionActivity {
  lastRound: InstitutionLastRound;
  /** When the round finished (when it started, for a row without an end). */
  lastSeenAt: Date;
  /** Round.timings.institutions.<name>.backend, as the aggregator records it. */
  lastBackend: string | null;
}

interface LatestRoundRow {
  institution: string;
  federationId: string;
  federationName: string;
  number: number;
  startedAt: Date;
  finishedAt: Date | null;
  timings: unknown;
}

type Institution = { consortiumId: string; name: string };

/** Institutions asked for while one GraphQL response is resolved, by consortium. */
interface Batch {
  names: Set<string>;
  result: Promise<Map<string, InstitutionActivity>>;
}

/**
 * Each institution's latest round, for the Institution fields lastSeenAt, lastBackend and
 * lastRound. Those resolve per institution; the look-ups asked for in one turn of the event loop
 * are answered by one query per consortium, and an institution's three fields share one look-up.
 */
@Injectable()
export class InstitutionActivityService {
  private readonly pending = new Map<string, Batch>();
  /** Keyed by the parent object GraphQL resolves the fields of: lives as long as the response. */
  private readonly byParent = new WeakMap<object, Promise<InstitutionActivity | null>>();

  constructor(@Inject(PRISMA) private readonly db: Db) {}

  activity(institution: Institution): Promise<InstitutionActivity | null> {
    let found = this.byParent.get(institution);
    if (!found) {
      found = this.batchFor(institution.consortiumId, institution.name).then(
        (all) => all.get(institution.name) ?? null,
      );
      this.byParent.set(institution, found);
    }
    return found;
  }

  private batchFor(consortiumId: string, name: string): Promise<Map<string, InstitutionActivity>> {
    let batch = this.pending.get(consortiumId);
    if (!batch) {
      const names = new Set<string>();
      // setImmediate runs after the promise jobs in which GraphQL resolves a list's fields.
      const result = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        this.pending.delete(consortiumId);
        return this.latestRounds(consortiumId, [...names]);
      });
      batch = { names, result };
      this.pending.set(consortiumId, batch);
    }
    batch.names.add(name);
    return batch.result;
  }

  /** One query: for each name, the newest round of the consortium whose survivors contain it. */
  private async latestRounds(
    consortiumId: string,
    names: string[],
  ): Promise<Map<string, InstitutionActivity>> {
    const rows = await this.db.$queryRaw<LatestRoundRow[]>`
      SELECT DISTINCT ON (s.name)
        s.name AS institution, r."federationId", f.name AS "federationName", r.number,
        r."startedAt", r."finishedAt", r.timings
      FROM "Round" r
      JOIN "Federation" f ON f.id = r."federationId"
      CROSS JOIN LATERAL unnest(r.survivors) AS s(name)
      WHERE f."consortiumId" = ${consortiumId}::uuid
        AND r.survivors && ${names}::text[]
        AND s.name = ANY(${names}::text[])
      ORDER BY s.name, COALESCE(r."finishedAt", r."startedAt") DESC, r.number DESC`;
    return new Map(rows.map((row) => [row.institution, toActivity(row)]));
  }
}

function toActivity(row: LatestRoundRow): InstitutionActivity {
  return {
    lastRound: {
      federationId: row.federationId,
      federationName: row.federationName,
      round: row.number,
      finishedAt: row.finishedAt,
    },
    lastSeenAt: row.finishedAt ?? row.startedAt,
    lastBackend: backendOf(row.timings, row.institution),
  };
}

function backendOf(timings: unknown, institution: string): string | null {
  const institutions = (timings as { institutions?: Record<string, { backend?: unknown }> } | null)
    ?.institutions;
  const backend = institutions?.[institution]?.backend;
  return typeof backend === 'string' ? backend : null;
}
