/**
 * A database schema reduced to comparable facts: key (what) → description (how), e.g.
 * 'column Dataset.sizeBytes' → 'bigint NOT NULL'. Both the expectation (from schema.prisma) and
 * the database are brought to this form, so their difference is a plain map comparison.
 */
export type SchemaShape = Map<string, string>;

/** PostgreSQL truncates identifiers to 63 bytes; Prisma's default names are cut the same way. */
export const MAX_IDENTIFIER = 63;

/** Readable differences, one per fact, sorted; empty when the shapes agree. */
export function diffShapes(expected: SchemaShape, actual: SchemaShape): string[] {
  const differences: string[] = [];
  for (const [key, want] of expected) {
    const found = actual.get(key);
    if (found === undefined) differences.push(`missing ${key}: ${want}`);
    else if (found !== want) differences.push(`${key}: expected ${want}, found ${found}`);
  }
  for (const [key, found] of actual) {
    if (!expected.has(key)) differences.push(`unexpected ${key}: ${found}`);
  }
  return differences.sort();
}
