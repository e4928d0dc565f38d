/**
 * The schema catalogue: every `.avsc` under `schemas/avro/`, parsed with avsc, with its Parsing
 * Canonical Form and CRC-64-AVRO fingerprint. Event schemas are `<ns>/<Name>.v<N>.avsc`; shared
 * named types are `<ns>/types/<Name>.avsc` and are referenced from event schemas by full name.
 * The latest version of each event name is the reader schema. No registry server is needed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import avsc from 'avsc';
import type { Schema, Type } from 'avsc';
import { ConfigError } from '../core/errors.js';
import { fingerprintHex, parsingCanonicalForm, rabinFingerprint } from './rabin.js';

/** The two event namespaces (directories under `schemas/avro/`, Avro namespace `engram.<ns>`). */
export const SCHEMA_NAMESPACES = ['conversation', 'memory'] as const;
export type SchemaNamespace = (typeof SCHEMA_NAMESPACES)[number];

/** One version of one event schema. */
export interface SchemaEntry {
  /** Short name, equal to the payload `type` ("MessagePosted"). */
  readonly name: string;
  /** Avro full name ("engram.conversation.MessagePosted"). */
  readonly fullName: string;
  readonly namespace: SchemaNamespace;
  readonly version: number;
  readonly type: Type;
  readonly canonical: string;
  /** CRC-64-AVRO of the canonical form, 8 bytes little-endian. */
  readonly fingerprint: Uint8Array;
  readonly fingerprintHex: string;
  /** The file it was read from, relative to the schema root. */
  readonly file: string;
}

/** Every event schema version, looked up by name and version or by fingerprint. */
export interface Catalogue {
  /** All entries, sorted by namespace, name and version. */
  readonly entries: readonly SchemaEntry[];
  /** Short event names, sorted. */
  names(): readonly string[];
  /** One version of a name (short or full); undefined when unknown. */
  get(name: string, version: number): SchemaEntry | undefined;
  /** The latest version of a name: the reader schema. */
  latest(name: string): SchemaEntry | undefined;
  /** Every version of a name, oldest first (empty when unknown). */
  versions(name: string): readonly SchemaEntry[];
  /** The entry whose fingerprint these 8 bytes are. */
  byFingerprint(fp: Uint8Array): SchemaEntry | undefined;
}

/** Parse options shared by every schema: unions stay unwrapped (all are `null | T`); logical types stay plain. */
const PARSE_OPTIONS = { wrapUnions: 'never' } as const;

const EVENT_FILE = /^([A-Z][A-Za-z0-9_]*)\.v([1-9][0-9]*)\.avsc$/;
const TYPE_FILE = /^([A-Z][A-Za-z0-9_]*)\.avsc$/;
const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);

/** The directory of the committed `.avsc` files, found from this module, so any cwd works. */
export const SCHEMA_ROOT = fileURLToPath(new URL('./avro/', import.meta.url));

/** Reads and parses every schema under `root`; throws ConfigError when one is malformed or inconsistent. */
export function loadCatalogue(root: string = SCHEMA_ROOT): Catalogue {
  const registry = loadSharedTypes(root);
  const entries: SchemaEntry[] = [];
  for (const ns of SCHEMA_NAMESPACES) {
    const dir = path.join(root, ns);
    const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.avsc')).sort() : [];
    for (const file of files) {
      const m = EVENT_FILE.exec(file);
      if (m === null) throw new ConfigError(`schema file ${ns}/${file} is not named <Name>.v<N>.avsc`);
      const [, name = '', version = ''] = m;
      const fullName = `engram.${ns}.${name}`;
      const schema = readJson(path.join(dir, file));
      // Each event schema gets its own copy of the shared registry: versions of one name share a full name.
      const type = parse(schema, { ...registry }, `${ns}/${file}`);
      if (type.name !== fullName) {
        throw new ConfigError(`schema ${ns}/${file} defines ${String(type.name)}, expected ${fullName}`);
      }
      const canonical = parsingCanonicalForm(type);
      const fingerprint = rabinFingerprint(canonical);
      entries.push({
        name,
        fullName,
        namespace: ns,
        version: Number(version),
        type,
        canonical,
        fingerprint,
        fingerprintHex: fingerprintHex(fingerprint),
        file: `${ns}/${file}`,
      });
    }
  }
  return buildCatalogue(entries);
}

let defaultCatalogue: Catalogue | undefined;

/** The catalogue of the committed schemas, loaded once on first use. */
export function catalogue(): Catalogue {
  defaultCatalogue ??= loadCatalogue();
  return defaultCatalogue;
}

/**
 * BACKWARD_TRANSITIVE check: every version of each name must be readable by every later version.
 * Returns one line per pair that cannot be resolved (empty when the catalogue is compatible).
 */
export function backwardTransitiveProblems(cat: Catalogue): string[] {
  const problems: string[] = [];
  for (const name of cat.names()) {
    const versions = cat.versions(name);
    versions.forEach((writer, i) => {
      for (const reader of versions.slice(i + 1)) {
        try {
          reader.type.createResolver(writer.type);
        } catch (err) {
          problems.push(`${name} v${writer.version} cannot be read by v${reader.version}: ${(err as Error).message}`);
        }
      }
    });
  }
  return problems;
}

function buildCatalogue(unsorted: SchemaEntry[]): Catalogue {
  const entries = [...unsorted].sort(
    (a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name) || a.version - b.version,
  );
  const byName = new Map<string, SchemaEntry[]>();
  const byFp = new Map<string, SchemaEntry>();
  for (const e of entries) {
    const list = byName.get(e.name) ?? [];
    if (list.length > 0 && list[0]?.namespace !== e.namespace) {
      throw new ConfigError(`event name ${e.name} is defined in both ${list[0]?.namespace} and ${e.namespace}`);
    }
    list.push(e);
    byName.set(e.name, list);
    const clash = byFp.get(e.fingerprintHex);
    // Two versions with one canonical form (e.g. only a default changed) could not be told apart on the wire.
    if (clash !== undefined) throw new ConfigError(`${e.file} has the same canonical form as ${clash.file}`);
    byFp.set(e.fingerprintHex, e);
  }
  for (const [name, list] of byName) {
    list.forEach((e, i) => {
      if (e.version !== i + 1) throw new ConfigError(`versions of ${name} must be 1..N without gaps (found v${e.version})`);
    });
  }
  const shortName = (name: string): string => name.replace(/^engram\.(conversation|memory)\./, '');
  return {
    entries,
    names: () => [...byName.keys()].sort(),
    get: (name, version) => byName.get(shortName(name))?.[version - 1],
    latest: (name) => byName.get(shortName(name))?.at(-1),
    versions: (name) => byName.get(shortName(name)) ?? [],
    byFingerprint: (fp) => (fp.length === 8 ? byFp.get(fingerprintHex(fp)) : undefined),
  };
}

/** Parses the shared named types, dependencies first, into one registry. */
function loadSharedTypes(root: string): Record<string, Type> {
  const pending = new Map<string, { schema: Schema; file: string; deps: Set<string> }>();
  for (const ns of SCHEMA_NAMESPACES) {
    const dir = path.join(root, ns, 'types');
    if (!fs.existsSync(dir)) continue;
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.avsc')).sort()) {
      const m = TYPE_FILE.exec(file);
      if (m === null) throw new ConfigError(`schema file ${ns}/types/${file} is not named <Name>.avsc`);
      const schema = readJson(path.join(dir, file));
      const fullName = `engram.${ns}.${m[1] ?? ''}`;
      const rel = `${ns}/types/${file}`;
      if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
        throw new ConfigError(`shared type ${rel} must be a named type`);
      }
      pending.set(fullName, { schema, file: rel, deps: referencedNames(schema, `engram.${ns}`) });
    }
  }
  const registry: Record<string, Type> = {};
  while (pending.size > 0) {
    const ready = [...pending].find(([, p]) => [...p.deps].every((d) => d in registry));
    if (ready === undefined) {
      const names = [...pending.keys()].join(', ');
      throw new ConfigError(`shared types with missing or circular references: ${names}`);
    }
    const [fullName, p] = ready;
    const type = parse(p.schema, registry, p.file);
    if (type.name !== fullName) throw new ConfigError(`${p.file} defines ${String(type.name)}, expected ${fullName}`);
    pending.delete(fullName);
  }
  return registry;
}

/** Full names a schema refers to but does not define itself (its dependencies). */
function referencedNames(schema: unknown, namespace: string): Set<string> {
  const defined = new Set<string>();
  const used = new Set<string>();
  const qualify = (name: string, ns: string): string => (name.includes('.') ? name : `${ns}.${name}`);
  const walk = (s: unknown, ns: string): void => {
    if (typeof s === 'string') {
      if (!PRIMITIVES.has(s)) used.add(qualify(s, ns));
      return;
    }
    if (Array.isArray(s)) {
      for (const branch of s) walk(branch, ns);
      return;
    }
    if (typeof s !== 'object' || s === null) return;
    const o = s as Record<string, unknown>;
    switch (o.type) {
      case 'record':
      case 'error':
      case 'enum':
      case 'fixed': {
        const name = String(o.name);
        const full = name.includes('.') ? name : qualify(name, typeof o.namespace === 'string' ? o.namespace : ns);
        defined.add(full);
        const inner = full.slice(0, full.lastIndexOf('.'));
        if (Array.isArray(o.fields)) for (const f of o.fields) walk((f as { type?: unknown }).type, inner);
        return;
      }
      case 'array':
        walk(o.items, ns);
        return;
      case 'map':
        walk(o.values, ns);
        return;
      default:
        walk(o.type, ns); // A primitive with a logical type, or a nested reference.
    }
  };
  walk(schema, namespace);
  for (const d of defined) used.delete(d);
  return used;
}

function parse(schema: Schema, registry: Record<string, Type>, file: string): Type {
  try {
    return avsc.Type.forSchema(schema, { ...PARSE_OPTIONS, registry });
  } catch (err) {
    throw new ConfigError(`invalid Avro schema ${file}: ${(err as Error).message}`);
  }
}

function readJson(file: string): Schema {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Schema;
  } catch (err) {
    throw new ConfigError(`cannot read schema ${file}: ${(err as Error).message}`);
  }
}
