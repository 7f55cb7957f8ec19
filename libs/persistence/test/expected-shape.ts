import type { Datamodel, DmmfField, DmmfModel } from './dmmf';
import { MAX_IDENTIFIER, type SchemaShape } from './schema-shape';

/** Column types Prisma's Postgres connector uses when a field has no @db attribute. */
const DEFAULT_TYPES: Record<string, string> = {
  String: 'text',
  Boolean: 'boolean',
  Int: 'integer',
  BigInt: 'bigint',
  Float: 'double precision',
  Decimal: 'numeric(65,30)',
  DateTime: 'timestamp(3) without time zone',
  Json: 'jsonb',
  Bytes: 'bytea',
};

/** @db.* attributes, as PostgreSQL's format_type() spells them. Unknown ones fail loudly. */
const NATIVE_TYPES: Record<string, (args: string[]) => string> = {
  Uuid: () => 'uuid',
  Text: () => 'text',
  VarChar: (a) => (a.length ? `character varying(${a[0]})` : 'character varying'),
  Char: (a) => `character(${a[0] ?? 1})`,
  Timestamptz: (a) => (a.length ? `timestamp(${a[0]}) with time zone` : 'timestamp with time zone'),
  Timestamp: (a) => (a.length ? `timestamp(${a[0]}) without time zone` : 'timestamp without time zone'),
  Date: () => 'date',
  SmallInt: () => 'smallint',
  Integer: () => 'integer',
  BigInt: () => 'bigint',
  Real: () => 'real',
  DoublePrecision: () => 'double precision',
  Decimal: (a) => (a.length ? `numeric(${a.join(',')})` : 'numeric'),
  Boolean: () => 'boolean',
  Json: () => 'json',
  JsonB: () => 'jsonb',
  ByteA: () => 'bytea',
  Inet: () => 'inet',
};

const ACTIONS: Record<string, string> = {
  Cascade: 'CASCADE',
  SetNull: 'SET NULL',
  Restrict: 'RESTRICT',
  NoAction: 'NO ACTION',
  SetDefault: 'SET DEFAULT',
};

/** Prisma's default constraint and index names: Table_col1_col2_suffix, cut to 63 bytes. */
function defaultName(table: string, columns: string[], suffix: string): string {
  const name = `${table}_${columns.join('_')}`;
  return `${name.slice(0, MAX_IDENTIFIER - suffix.length - 1)}_${suffix}`;
}

function columnType(field: DmmfField, enumNames: Map<string, string>): string {
  let type: string | undefined;
  if (field.kind === 'enum') type = enumNames.get(field.type);
  else if (field.nativeType) {
    const [name, args] = field.nativeType;
    const native = NATIVE_TYPES[name];
    if (!native) throw new Error(`schema check: add @db.${name} to NATIVE_TYPES`);
    type = native(args);
  } else type = DEFAULT_TYPES[field.type];
  if (!type) throw new Error(`schema check: no column type for ${field.name} ${field.type}`);
  return field.isList ? `${type}[]` : type;
}

/** The default the database holds; uuid()/cuid() are filled in by the Prisma client instead. */
function columnDefault(field: DmmfField): string | undefined {
  const value = field.default;
  if (value === undefined || value === null) return undefined;
  // Quoted as SQL literals are, except numbers (a BigInt default arrives as a string).
  if (typeof value === 'string' && !['BigInt', 'Decimal'].includes(field.type)) return `'${value}'`;
  if (typeof value !== 'object') return String(value);
  const { name, args } = value as { name: string; args: unknown[] };
  if (name === 'now') return 'now()';
  if (name === 'autoincrement') return 'autoincrement()';
  if (name === 'dbgenerated') return String(args[0]);
  if (['uuid', 'cuid', 'nanoid', 'ulid'].includes(name)) return undefined;
  throw new Error(`schema check: default ${name}() of ${field.name} not handled`);
}

/** What the migrations must create for this datamodel, as Prisma's migrate would. */
export function expectedShape(datamodel: Datamodel): SchemaShape {
  const shape: SchemaShape = new Map();
  const enumNames = new Map(datamodel.enums.map((e) => [e.name, e.dbName ?? e.name]));
  const models = new Map(datamodel.models.map((m) => [m.name, m]));
  const tableOf = (model: DmmfModel) => model.dbName ?? model.name;
  const columnOf = (model: DmmfModel, fieldName: string) => {
    const field = model.fields.find((f) => f.name === fieldName);
    if (!field) throw new Error(`schema check: ${model.name}.${fieldName} not found`);
    return field.dbName ?? field.name;
  };

  for (const e of datamodel.enums) {
    shape.set(`enum ${e.dbName ?? e.name}`, e.values.map((v) => v.dbName ?? v.name).join(', '));
  }
  for (const model of datamodel.models) {
    const table = tableOf(model);
    shape.set(`table ${table}`, 'exists');
    for (const field of model.fields) {
      if (field.kind === 'object') continue;
      // Prisma leaves scalar-list columns nullable.
      const nullable = !field.isRequired || field.isList;
      const fallback = columnDefault(field);
      shape.set(
        `column ${table}.${field.dbName ?? field.name}`,
        `${columnType(field, enumNames)} ${nullable ? 'NULL' : 'NOT NULL'}` +
          (fallback === undefined ? '' : ` DEFAULT ${fallback}`),
      );
    }
    for (const field of model.fields) {
      const from = field.relationFromFields ?? [];
      if (field.kind !== 'object' || from.length === 0) continue;
      const target = models.get(field.type);
      if (!target) throw new Error(`schema check: relation to unknown model ${field.type}`);
      const columns = from.map((name) => columnOf(model, name));
      const referenced = (field.relationToFields ?? []).map((name) => columnOf(target, name));
      // Prisma's defaults: SET NULL when the relation is optional, RESTRICT when required.
      const required = from.some((name) => model.fields.find((f) => f.name === name)?.isRequired);
      const onDelete = field.relationOnDelete ?? (required ? 'Restrict' : 'SetNull');
      const onUpdate = field.relationOnUpdate ?? 'Cascade';
      shape.set(
        `foreign key ${defaultName(table, columns, 'fkey')}`,
        `${table}(${columns.join(', ')}) -> ${tableOf(target)}(${referenced.join(', ')}) ` +
          `ON DELETE ${ACTIONS[onDelete]} ON UPDATE ${ACTIONS[onUpdate]}`,
      );
    }
  }
  for (const index of datamodel.indexes) {
    const model = models.get(index.model);
    if (!model) throw new Error(`schema check: index on unknown model ${index.model}`);
    const table = tableOf(model);
    const columns = index.fields.map((f) => columnOf(model, f.name));
    const described = `${table}(${columns.join(', ')})`;
    if (index.type === 'id') {
      shape.set(`primary key ${index.dbName ?? `${table}_pkey`}`, described);
    } else if (index.type === 'unique' || index.type === 'normal') {
      const unique = index.type === 'unique';
      const name = index.dbName ?? defaultName(table, columns, unique ? 'key' : 'idx');
      shape.set(`index ${name}`, unique ? `UNIQUE ${described}` : described);
    } else {
      throw new Error(`schema check: ${index.type} indexes are not handled`);
    }
  }
  return shape;
}
