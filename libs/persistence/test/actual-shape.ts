import pg from 'pg';
import type { SchemaShape } from './schema-shape';

/** Prisma's bookkeeping table is not part of the datamodel. */
const IGNORED_TABLE = '_prisma_migrations';

const ACTIONS: Record<string, string> = {
  a: 'NO ACTION',
  r: 'RESTRICT',
  c: 'CASCADE',
  n: 'SET NULL',
  d: 'SET DEFAULT',
};

/** An ordered list of the attribute names of `keys` (an int2 array) on relation `rel`. */
const names = (keys: string, rel: string) =>
  `array(SELECT a.attname::text FROM unnest(${keys}) WITH ORDINALITY k(num, ord)
     JOIN pg_attribute a ON a.attrelid = ${rel} AND a.attnum = k.num ORDER BY k.ord)`;

const COLUMNS = `
  SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
         a.attnotnull AS not_null, pg_get_expr(d.adbin, d.adrelid) AS default
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
  WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relname <> $1`;

const ENUMS = `
  SELECT t.typname AS name, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS values
  FROM pg_type t
  JOIN pg_namespace n ON n.oid = t.typnamespace
  JOIN pg_enum e ON e.enumtypid = t.oid
  WHERE n.nspname = current_schema()
  GROUP BY t.typname`;

const CONSTRAINTS = `
  SELECT con.conname AS name, con.contype AS kind, c.relname AS table, rc.relname AS ref_table,
         ${names('con.conkey', 'con.conrelid')} AS columns,
         ${names('con.confkey', 'con.confrelid')} AS ref_columns,
         con.confdeltype AS on_delete, con.confupdtype AS on_update
  FROM pg_constraint con
  JOIN pg_class c ON c.oid = con.conrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_class rc ON rc.oid = con.confrelid
  WHERE n.nspname = current_schema() AND con.contype IN ('p', 'f') AND c.relname <> $1`;

const INDEXES = `
  SELECT i.relname AS name, c.relname AS table, ix.indisunique AS unique,
         ${names('ix.indkey::int2[]', 'ix.indrelid')} AS columns,
         pg_get_expr(ix.indpred, ix.indrelid) AS predicate,
         pg_get_expr(ix.indexprs, ix.indrelid) AS expressions
  FROM pg_index ix
  JOIN pg_class i ON i.oid = ix.indexrelid
  JOIN pg_class c ON c.oid = ix.indrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = current_schema() AND NOT ix.indisprimary AND c.relname <> $1`;

/** Brings a column default to the form expected-shape.ts writes. */
function normaliseDefault(expression: string): string {
  if (/^nextval\(/.test(expression)) return 'autoincrement()';
  if (expression === 'CURRENT_TIMESTAMP' || expression === 'now()') return 'now()';
  const literal = /^'((?:[^']|'')*)'::(.+)$/.exec(expression);
  if (!literal) return expression;
  const value = literal[1].replace(/''/g, "'");
  // Large integer literals come back quoted and cast ('5000000000'::bigint).
  return ['bigint', 'integer', 'numeric'].includes(literal[2]) ? value : `'${value}'`;
}

/** format_type() quotes mixed-case type names ("Role"); the expectation does not. */
const unquote = (type: string) => type.replace(/"/g, '');

/** The schema of the database at `url` (its current schema), from the system catalogs. */
export async function actualShape(url: string): Promise<SchemaShape> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const shape: SchemaShape = new Map();
    for (const e of (await client.query(ENUMS)).rows) shape.set(`enum ${e.name}`, e.values.join(', '));
    for (const c of (await client.query(COLUMNS, [IGNORED_TABLE])).rows) {
      shape.set(`table ${c.table}`, 'exists');
      shape.set(
        `column ${c.table}.${c.column}`,
        `${unquote(c.type)} ${c.not_null ? 'NOT NULL' : 'NULL'}` +
          (c.default === null ? '' : ` DEFAULT ${normaliseDefault(c.default)}`),
      );
    }
    for (const k of (await client.query(CONSTRAINTS, [IGNORED_TABLE])).rows) {
      const described = `${k.table}(${k.columns.join(', ')})`;
      if (k.kind === 'p') shape.set(`primary key ${k.name}`, described);
      else {
        shape.set(
          `foreign key ${k.name}`,
          `${described} -> ${k.ref_table}(${k.ref_columns.join(', ')}) ` +
            `ON DELETE ${ACTIONS[k.on_delete]} ON UPDATE ${ACTIONS[k.on_update]}`,
        );
      }
    }
    for (const i of (await client.query(INDEXES, [IGNORED_TABLE])).rows) {
      const parts = [...i.columns, ...(i.expressions ? [i.expressions] : [])].join(', ');
      shape.set(
        `index ${i.name}`,
        `${i.unique ? 'UNIQUE ' : ''}${i.table}(${parts})${i.predicate ? ` WHERE ${i.predicate}` : ''}`,
      );
    }
    return shape;
  } finally {
    await client.end();
  }
}
