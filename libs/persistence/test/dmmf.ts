/**
 * The part of Prisma's DMMF datamodel (what generators receive) that the schema check reads.
 * Prisma publishes these types in @prisma/dmmf, which is not installed here.
 */
export interface DmmfField {
  name: string;
  dbName?: string | null;
  kind: 'scalar' | 'object' | 'enum' | 'unsupported';
  type: string;
  isList: boolean;
  isRequired: boolean;
  /** [name, args], e.g. ['Timestamptz', ['3']]; absent or null for the scalar type's default. */
  nativeType?: [string, string[]] | null;
  /** A literal, or a function such as { name: 'now', args: [] }. */
  default?: unknown;
  relationFromFields?: string[];
  relationToFields?: string[];
  relationOnDelete?: string;
  relationOnUpdate?: string;
}

export interface DmmfModel {
  name: string;
  dbName: string | null;
  fields: DmmfField[];
}

export interface DmmfEnum {
  name: string;
  dbName?: string | null;
  values: { name: string; dbName?: string | null }[];
}

/** Every @id/@@id, @unique/@@unique and @@index of the schema. */
export interface DmmfIndex {
  model: string;
  type: 'id' | 'unique' | 'normal' | 'fulltext';
  dbName?: string | null;
  fields: { name: string }[];
}

export interface Datamodel {
  models: DmmfModel[];
  enums: DmmfEnum[];
  indexes: DmmfIndex[];
}
