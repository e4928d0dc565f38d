/**
 * Values across the Neo4j driver boundary, pure: shared-Cypher parameters to driver values, and
 * driver records to the plain rows `infra/graph/cypher.ts` reads. The driver sends every JS number
 * as a FLOAT, so integers must be wrapped to be stored as INTEGER; and it returns INTEGER as its own
 * `Integer` (lossless mode, the default), which becomes a JS number here.
 */
import neo4j, { isInt } from 'neo4j-driver';
import type { Integer } from 'neo4j-driver';
import { ValidationError } from '../../core/errors.js';
import { GRAPH_SCHEMA } from '../graph/cypher.js';
import type { CypherParams, CypherRow, PropertyType } from '../graph/cypher.js';

/** A parameter value as handed to the driver. */
export type DriverValue = string | number | boolean | null | Integer | DriverValue[] | { [key: string]: DriverValue };

/** The smallest number that is not an int64 (2^63), exact as a double. */
const INT64_LIMIT = 2 ** 63;

/**
 * Property name → type over every node label and relationship type of a graph model. A name must
 * have one type everywhere, so that a parameter's name alone says how to send it.
 */
export function propertyTypes(schema: {
  readonly nodes: Readonly<Record<string, { readonly properties: Readonly<Record<string, PropertyType>> }>>;
  readonly rels: Readonly<Record<string, { readonly properties: Readonly<Record<string, PropertyType>> }>>;
}): ReadonlyMap<string, PropertyType> {
  const types = new Map<string, PropertyType>();
  for (const [owner, def] of [...Object.entries(schema.nodes), ...Object.entries(schema.rels)]) {
    for (const [name, type] of Object.entries(def.properties)) {
      const known = types.get(name);
      if (known !== undefined && known !== type) {
        throw new TypeError(`property ${name} is ${known} elsewhere but ${type} on ${owner}`);
      }
      types.set(name, type);
    }
  }
  return types;
}

/** The property types of the shared graph model (GRAPH_SCHEMA). */
export const SCHEMA_PROPERTY_TYPES: ReadonlyMap<string, PropertyType> = propertyTypes(GRAPH_SCHEMA);

/**
 * One number as a driver value. Known `float` properties stay JS numbers (sent as FLOAT); known
 * `int` properties must be integers and become `Integer`; other integer-valued numbers in int64
 * range become `Integer` (so `LIMIT`, counts and offsets are INTEGER) and the rest stay FLOAT.
 */
function driverNumber(n: number, field: string | undefined, type: PropertyType | undefined): number | Integer {
  const integral = Number.isInteger(n) && n > -INT64_LIMIT && n < INT64_LIMIT;
  if (type === 'float') return n;
  if (type === 'int' && !integral) {
    throw new ValidationError(`${field ?? 'value'} must be an integer, got ${n}`, { field: field ?? 'value' });
  }
  // BigInt makes the conversion exact for every integer-valued double, not only safe integers.
  return integral ? neo4j.int(BigInt(n)) : n;
}

/** Converts one parameter value; `field` is the name it is stored under (list items share it). */
export function toDriverValue(
  value: unknown,
  field?: string,
  types: ReadonlyMap<string, PropertyType> = SCHEMA_PROPERTY_TYPES,
): DriverValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return driverNumber(value, field, field === undefined ? undefined : types.get(field));
  if (typeof value === 'bigint') return neo4j.int(value);
  if (isInt(value)) return value;
  if (Array.isArray(value)) return value.map((item: unknown) => toDriverValue(item, field, types));
  if (isPlainObject(value)) {
    const out: Record<string, DriverValue> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toDriverValue(v, k, types);
    return out;
  }
  throw new TypeError(`unsupported Cypher parameter${field === undefined ? '' : ` ${field}`}: ${describe(value)}`);
}

/** Converts a statement's parameters for `tx.run`, typing numbers by parameter name (see toDriverValue). */
export function toDriverParams(
  params: CypherParams,
  types: ReadonlyMap<string, PropertyType> = SCHEMA_PROPERTY_TYPES,
): Record<string, DriverValue> {
  const out: Record<string, DriverValue> = {};
  for (const [k, v] of Object.entries(params)) out[k] = toDriverValue(v, k, types);
  return out;
}

/**
 * A result value as plain JS: `Integer` and bigint → number (exact below 2^53, which covers
 * every stored time, offset and count; beyond, the nearest double), lists and maps converted
 * deeply, null kept. Graph and temporal values are not part of the shared statements' results.
 */
export function fromDriverValue(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return Number(value);
  if (isInt(value)) return Number(value.toBigInt());
  if (Array.isArray(value)) return value.map((item: unknown) => fromDriverValue(item));
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = fromDriverValue(v);
    return out;
  }
  throw new TypeError(`unsupported Cypher result value: ${describe(value)}`);
}

/** What the adapter reads of a driver record (neo4j-driver's `Record` has it). */
export interface RecordLike {
  toObject(): object;
}

/** A driver record as a plain row, every column converted by fromDriverValue. */
export function toRow(record: RecordLike): CypherRow {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record.toObject())) out[k] = fromDriverValue(v);
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function describe(value: unknown): string {
  if (typeof value === 'object' && value !== null) return value.constructor?.name ?? 'object';
  return typeof value;
}
