/**
 * The wire codec: Avro single-object encoding (`C3 01`, 8-byte little-endian CRC-64-AVRO
 * fingerprint of the writer schema, Avro binary body). Decoding finds the writer schema by its
 * fingerprint in the catalogue and resolves it against the latest version of that name.
 *
 * An event travels as one flat Avro record per payload type: the envelope fields followed by the
 * payload fields (`type` is the record name). `bytes` fields hold little-endian float32 vectors
 * and are `number[]` on the domain side. The encoders return a Node Buffer (a Uint8Array), ready
 * for kafkajs.
 */
import type { Type, types } from 'avsc';
import { DecodeError, ValidationError } from '../core/errors.js';
import type { ConversationEvent, MemoryEvent } from '../core/model.js';
import { renderPath, scanBody } from './body-scan.js';
import { catalogue } from './catalogue.js';
import type { Catalogue, SchemaEntry, SchemaNamespace } from './catalogue.js';
import { fingerprintHex } from './rabin.js';

/** The two magic bytes of Avro single-object encoding. */
export const MAGIC = Uint8Array.of(0xc3, 0x01);
const HEADER_LENGTH = 10;
/** How many bad fields an error message lists (details.fields has them all). */
const MAX_PROBLEMS = 8;

/** Envelope fields of each namespace, in schema order; the rest of a record is the payload. */
export const ENVELOPE_FIELDS: Readonly<Record<SchemaNamespace, readonly string[]>> = {
  conversation: ['eventId', 'tenantId', 'userId', 'conversationId', 'sessionId', 'occurredAt'],
  memory: ['eventId', 'tenantId', 'userId', 'recordedAt', 'causationId'],
};

/** A record decoded from the wire, in the shape of the latest (reader) version of its schema. */
export interface DecodedRecord {
  readonly name: string;
  readonly namespace: SchemaNamespace;
  /** The version the bytes were written with. */
  readonly version: number;
  readonly value: Record<string, unknown>;
}

type PathMapper = (path: readonly string[]) => readonly string[];

/** Encodes a conversation event with the latest schema of its payload type; ValidationError names the bad field. */
export function encodeConversationEvent(e: ConversationEvent): Uint8Array {
  return encodeEvent('conversation', e);
}

/** How far decoding may trust its input. */
export interface DecodeOptions {
  /**
   * The bytes were authenticated as Engram's own encoding (a sealed record whose AES-GCM tag
   * verified), so the bounds walk that guards avsc against hostile lengths and counts is skipped.
   */
  readonly trusted?: boolean;
}

/** Decodes single-object bytes into a conversation event; DecodeError says why when it cannot. */
export function decodeConversationEvent(b: Uint8Array, opts?: DecodeOptions): ConversationEvent {
  return toEvent('conversation', decodeRecord(b, opts)) as unknown as ConversationEvent;
}

/** Encodes a memory event with the latest schema of its payload type; ValidationError names the bad field. */
export function encodeMemoryEvent(e: MemoryEvent): Uint8Array {
  return encodeEvent('memory', e);
}

/** Decodes single-object bytes into a memory event; DecodeError says why when it cannot. */
export function decodeMemoryEvent(b: Uint8Array, opts?: DecodeOptions): MemoryEvent {
  return toEvent('memory', decodeRecord(b, opts)) as unknown as MemoryEvent;
}

/**
 * Encodes a flat record (envelope and payload fields, `number[]` for float32 bytes) with one
 * given schema version; used for fixtures of historic versions.
 */
export function encodeRecord(name: string, version: number, record: Record<string, unknown>): Uint8Array {
  const entry = catalogue().get(name, version);
  if (entry === undefined) throw new ValidationError(`unknown schema ${name} v${version}`, { field: 'type' });
  return encodeWith(entry, record, (p) => p);
}

/** Decodes single-object bytes into the flat record of the latest version of the writer's schema name. */
export function decodeRecord(bytes: Uint8Array, opts: DecodeOptions = {}): DecodedRecord {
  const cat = catalogue();
  if (!(bytes instanceof Uint8Array)) throw decodeError('input', `expected bytes, got ${typeof bytes}`);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if ((buf.length >= 1 && buf[0] !== MAGIC[0]) || (buf.length >= 2 && buf[1] !== MAGIC[1])) {
    throw decodeError('magic', `not Avro single-object encoding: starts with ${buf.subarray(0, 2).toString('hex')}, expected c301`);
  }
  if (buf.length < HEADER_LENGTH) {
    throw decodeError('truncated', `truncated header: ${buf.length} of ${HEADER_LENGTH} bytes`);
  }
  const fp = buf.subarray(2, HEADER_LENGTH);
  const writer = cat.byFingerprint(fp);
  if (writer === undefined) {
    throw decodeError('fingerprint', `unknown schema fingerprint ${fingerprintHex(fp)}`, { fingerprint: fingerprintHex(fp) });
  }
  const where = `${writer.name} v${writer.version}`;
  if (opts.trusted !== true) {
    const failure = scanBody(writer.type, buf, HEADER_LENGTH);
    if (failure !== null) throw decodeError(failure.reason, `${where}: ${failure.message}`, { schema: where });
  }
  const plan = readPlanOf(cat, writer);
  let raw: unknown;
  try {
    raw = plan.reader.type.fromBuffer(buf.subarray(HEADER_LENGTH), plan.resolver);
  } catch (err) {
    if (err instanceof DecodeError) throw err;
    throw decodeError('body', `${where}: body does not decode: ${(err as Error).message}`, { schema: where }, err);
  }
  let value: Record<string, unknown>;
  try {
    value = (plan.convert === null ? raw : plan.convert(raw)) as Record<string, unknown>;
  } catch (err) {
    if (!(err instanceof Float32Failure)) throw err;
    throw decodeError('body', `${renderPath(err.path)}: ${err.byteLength} bytes is not a whole number of float32 values`);
  }
  return { name: writer.name, namespace: writer.namespace, version: writer.version, value };
}

// ---------------------------------------------------------------- events ↔ flat records

/**
 * The flat record of an event: the envelope fields and the payload fields side by side (the
 * payload `type` is the schema name). Throws ValidationError when a payload field shadows an envelope field.
 */
export function eventRecord(e: ConversationEvent | MemoryEvent): Record<string, unknown> {
  const { payload, ...envelope } = e as unknown as Record<string, unknown>;
  const flat: Record<string, unknown> = { ...envelope };
  if (!isObject(payload)) throw new ValidationError('invalid event: payload: expected an object', { field: 'payload' });
  for (const [key, value] of Object.entries(payload)) {
    if (key === 'type') continue;
    if (key in flat) {
      throw new ValidationError(`invalid event: payload.${key} clashes with an envelope field`, { field: `payload.${key}` });
    }
    flat[key] = value;
  }
  return flat;
}

function encodeEvent(ns: SchemaNamespace, e: ConversationEvent | MemoryEvent): Uint8Array {
  const event = e as unknown;
  if (!isObject(event)) throw new ValidationError(`invalid ${ns} event: not an object`, { field: '' });
  const payload = event.payload;
  if (!isObject(payload)) throw new ValidationError(`invalid ${ns} event: payload: expected an object`, { field: 'payload' });
  const entry = typeof payload.type === 'string' ? catalogue().latest(payload.type) : undefined;
  if (entry === undefined || entry.namespace !== ns) {
    throw new ValidationError(`invalid ${ns} event: payload.type: unknown event type ${JSON.stringify(payload.type)}`, {
      field: 'payload.type',
    });
  }
  const envelope = ENVELOPE_FIELDS[ns];
  return encodeWith(entry, eventRecord(e), (p) => (p.length > 0 && envelope.includes(p[0] ?? '') ? p : ['payload', ...p]));
}

/** The envelope fields of each namespace, as sets (looked up for every field of every record decoded). */
const ENVELOPE_SETS: Readonly<Record<SchemaNamespace, ReadonlySet<string>>> = {
  conversation: new Set(ENVELOPE_FIELDS.conversation),
  memory: new Set(ENVELOPE_FIELDS.memory),
};

function toEvent(ns: SchemaNamespace, decoded: DecodedRecord): Record<string, unknown> {
  if (decoded.namespace !== ns) {
    throw decodeError('namespace', `expected a ${ns} event, got ${decoded.namespace} event ${decoded.name}`);
  }
  const envelope = ENVELOPE_SETS[ns];
  const event: Record<string, unknown> = {};
  const payload: Record<string, unknown> = { type: decoded.name };
  for (const key of Object.keys(decoded.value)) {
    if (envelope.has(key)) event[key] = decoded.value[key];
    else payload[key] = decoded.value[key];
  }
  event.payload = payload;
  return event;
}

// ---------------------------------------------------------------- encoding

function encodeWith(entry: SchemaEntry, record: Record<string, unknown>, mapPath: PathMapper): Uint8Array {
  const problems: string[] = [];
  const fields: string[] = [];
  const report = (path: readonly string[], message: string): void => {
    const field = renderPath(mapPath(path));
    fields.push(field);
    problems.push(`${field || '(record)'}: ${message}`);
  };
  const avro = toAvro(entry.type, record, [], report);
  entry.type.isValid(avro, {
    errorHook: (path: string[], value: unknown, type: Type) =>
      report(path, `expected ${describeType(type)}, got ${describeValue(value)}`),
  });
  if (problems.length > 0) {
    const shown = problems.length > MAX_PROBLEMS ? [...problems.slice(0, MAX_PROBLEMS), `${problems.length - MAX_PROBLEMS} more`] : problems;
    throw new ValidationError(`invalid ${entry.name} v${entry.version} record: ${shown.join('; ')}`, {
      schema: `${entry.name} v${entry.version}`,
      field: fields[0],
      fields,
    });
  }
  const body = entry.type.toBuffer(avro);
  return Buffer.concat([MAGIC, entry.fingerprint, body]);
}

/** Domain value → avsc value, guided by the schema: only float32 `bytes` need converting. */
function toAvro(type: Type, value: unknown, path: string[], report: (p: readonly string[], m: string) => void): unknown {
  switch (type.typeName) {
    case 'record':
    case 'error': {
      if (!isObject(value)) return value;
      const out: Record<string, unknown> = {};
      for (const f of (type as types.RecordType).fields) out[f.name] = toAvro(f.type, value[f.name], [...path, f.name], report);
      return out;
    }
    case 'array': {
      if (!Array.isArray(value)) return value;
      const items = (type as types.ArrayType).itemsType;
      return value.map((v: unknown, i) => toAvro(items, v, [...path, String(i)], report));
    }
    case 'union:unwrapped': {
      if (value === null || value === undefined) return value;
      const branch = (type as types.UnwrappedUnionType).types.find((t) => t.typeName !== 'null');
      return branch === undefined ? value : toAvro(branch, value, path, report);
    }
    case 'bytes': {
      if (Array.isArray(value) && value.every((v) => typeof v === 'number' && Number.isFinite(v))) {
        return float32Bytes(value as number[]);
      }
      const items: readonly unknown[] = Array.isArray(value) ? value : [];
      const bad = items.findIndex((v) => typeof v !== 'number' || !Number.isFinite(v));
      if (bad >= 0) report([...path, String(bad)], `expected a finite number, got ${describeValue(items[bad])}`);
      else report(path, `expected an array of finite numbers (float32), got ${describeValue(value)}`);
      return Buffer.alloc(0); // Keeps isValid from reporting the same field twice.
    }
    default:
      return value;
  }
}

function float32Bytes(values: readonly number[]): Buffer {
  const buf = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => buf.writeFloatLE(v, i * 4));
  return buf;
}

// ---------------------------------------------------------------- decoding

type Resolver = ReturnType<Type['createResolver']>;

/** avsc value → domain value for one reader type, compiled once per type; null where nothing changes. */
type Converter = (value: unknown) => unknown;

/** How records of one writer schema are read: the reader schema, the resolver and the conversion. */
interface ReadPlan {
  readonly reader: SchemaEntry;
  /** Undefined when writer and reader are the same schema. */
  readonly resolver: Resolver | undefined;
  readonly convert: Converter | null;
}

const plans = new WeakMap<Catalogue, Map<SchemaEntry, ReadPlan>>();

/** The read plan of a writer schema (resolved against the latest version of its name), cached. */
function readPlanOf(cat: Catalogue, writer: SchemaEntry): ReadPlan {
  let cache = plans.get(cat);
  if (cache === undefined) {
    cache = new Map();
    plans.set(cat, cache);
  }
  let plan = cache.get(writer);
  if (plan === undefined) {
    const reader = cat.latest(writer.name) ?? writer;
    plan = { reader, resolver: resolverFor(reader, writer), convert: converterOf(reader.type) };
    cache.set(writer, plan);
  }
  return plan;
}

/** The resolver from a writer version to the reader version (undefined when they are the same schema). */
function resolverFor(reader: SchemaEntry, writer: SchemaEntry): Resolver | undefined {
  if (reader === writer) return undefined;
  try {
    return reader.type.createResolver(writer.type);
  } catch (err) {
    throw decodeError('resolution', `${writer.name} v${writer.version} cannot be read as v${reader.version}: ${(err as Error).message}`, undefined, err);
  }
}

/** A float32 `bytes` value of the wrong length; the path is filled in as the error leaves each record and array. */
class Float32Failure extends Error {
  readonly path: string[] = [];

  constructor(readonly byteLength: number) {
    super('not a whole number of float32 values');
  }
}

/** Float32Array reads in the platform's byte order: where that is not the wire's (little-endian), values are read one by one. */
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** Little-endian float32 bytes → numbers. */
function float32Values(buf: Buffer): number[] {
  if (buf.length % 4 !== 0) throw new Float32Failure(buf.length);
  const n = buf.length / 4;
  const out = new Array<number>(n);
  if (LITTLE_ENDIAN && buf.byteOffset % 4 === 0) {
    const floats = new Float32Array(buf.buffer, buf.byteOffset, n);
    for (let i = 0; i < n; i++) out[i] = floats[i] as number;
  } else {
    for (let i = 0; i < n; i++) out[i] = buf.readFloatLE(i * 4);
  }
  return out;
}

const converters = new WeakMap<Type, Converter | null>();

/**
 * The conversion of avsc values of a reader type into domain values, compiled once per type:
 * plain objects for records, float32 `bytes` → number[], everything else as avsc returns it.
 */
function converterOf(type: Type): Converter | null {
  const known = converters.get(type);
  if (known !== undefined) return known;
  const compiled = compileConverter(type);
  converters.set(type, compiled);
  return compiled;
}

function compileConverter(type: Type): Converter | null {
  switch (type.typeName) {
    case 'record':
    case 'error': {
      const fields: { name: string; convert: Converter | null }[] = [];
      const convertRecord: Converter = (value) => {
        const rec = value as Record<string, unknown>;
        const out: Record<string, unknown> = {};
        for (const { name, convert } of fields) {
          if (convert === null) {
            out[name] = rec[name];
            continue;
          }
          try {
            out[name] = convert(rec[name]);
          } catch (err) {
            if (err instanceof Float32Failure) err.path.unshift(name);
            throw err;
          }
        }
        return out;
      };
      // Registered before its fields are compiled: a recursive schema refers back to this record.
      converters.set(type, convertRecord);
      for (const f of (type as types.RecordType).fields) fields.push({ name: f.name, convert: converterOf(f.type) });
      return convertRecord;
    }
    case 'array': {
      const convert = converterOf((type as types.ArrayType).itemsType);
      if (convert === null) return null;
      return (value) =>
        (value as unknown[]).map((v, i) => {
          try {
            return convert(v);
          } catch (err) {
            if (err instanceof Float32Failure) err.path.unshift(String(i));
            throw err;
          }
        });
    }
    case 'union:unwrapped': {
      const branches = (type as types.UnwrappedUnionType).types.filter((t) => t.typeName !== 'null');
      const only = branches.length === 1 ? branches[0] : undefined;
      if (only !== undefined) {
        const convert = converterOf(only);
        return convert === null ? null : (value) => (value === null ? null : convert(value));
      }
      return (value) => {
        if (value === null) return null;
        const branch = branches.find((t) => t.isValid(value));
        const convert = branch === undefined ? null : converterOf(branch);
        return convert === null ? value : convert(value);
      };
    }
    case 'bytes':
      return (value) => float32Values(value as Buffer);
    default:
      return null;
  }
}

// ---------------------------------------------------------------- helpers

function decodeError(reason: string, message: string, details?: Record<string, unknown>, cause?: unknown): DecodeError {
  return new DecodeError(message, { reason, ...details }, cause);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describeType(type: Type): string {
  switch (type.typeName) {
    case 'enum':
      return `one of ${(type as types.EnumType).symbols.join('|')}`;
    case 'union:unwrapped':
    case 'union:wrapped':
      return (type as types.UnwrappedUnionType).types.map(describeType).join(' or ');
    case 'record':
    case 'error':
      return `a ${String(type.name).split('.').at(-1)} record`;
    case 'array':
      return `an array of ${describeType((type as types.ArrayType).itemsType)}`;
    case 'int':
      return 'a 32-bit integer';
    case 'long':
      return 'a safe integer';
    case 'float':
    case 'double':
      return 'a number';
    default:
      return `a ${type.typeName}`;
  }
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (Buffer.isBuffer(value)) return `${value.length} bytes`;
  const json = JSON.stringify(value) ?? typeof value;
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}
