import { Scalar, type CustomScalar } from '@nestjs/graphql';
import { Kind, type ValueNode } from 'graphql';

/**
 * The type fields name to be JSON (`@Field(() => JSONValue)`). A class-based scalar lets Nest
 * build the GraphQLScalarType with its own copy of graphql-js: under Vitest, code outside
 * node_modules may get graphql's ESM build while Nest gets the CommonJS one, and a scalar
 * instance made here would then fail Nest's `instanceof GraphQLScalarType`.
 */
export class JSONValue {}

function literal(node: ValueNode): unknown {
  switch (node.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return node.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(node.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return node.values.map(literal);
    case Kind.OBJECT:
      return Object.fromEntries(node.fields.map((f) => [f.name.value, literal(f.value)]));
    default:
      throw new TypeError(`JSON cannot represent a ${node.kind}`);
  }
}

/** Free-form JSON (options, participants, losses, summaries): passed through as is. */
@Scalar('JSON', () => JSONValue)
export class JSONScalar implements CustomScalar<unknown, unknown> {
  description = 'Any JSON value.';
  serialize(value: unknown): unknown {
    return value;
  }
  parseValue(value: unknown): unknown {
    return value;
  }
  parseLiteral(node: ValueNode): unknown {
    return literal(node);
  }
}
