/**
 * An optional Confluent-compatible schema registry (ENGRAM_SCHEMA_REGISTRY_URL). Engram does not
 * need one: its wire format is Avro single-object encoding resolved against the committed
 * catalogue (DESIGN §4.10). This client registers the catalogue so that registry-aware tools can
 * read the topics, and converts between the two framings without touching the Avro body:
 *
 *   single-object:  C3 01 | 8-byte CRC-64-AVRO fingerprint (little-endian) | body
 *   Confluent:      00    | 4-byte schema id (big-endian)                   | body
 *
 * Subjects: `topic-record` (default) is Confluent's TopicRecordNameStrategy,
 * `<prefix><topic>-<record full name>`, one subject per event type whose versions evolve
 * BACKWARD like the catalogue. `topic` is TopicNameStrategy, `<prefix><topic>-value`: every event
 * type of a topic in one subject, which a registry accepts only when that subject's compatibility
 * is NONE (different record names are incompatible in Avro).
 */
import avsc from 'avsc';
import type { Schema } from 'avsc';
import { DecodeError, EngramError } from '../../core/errors.js';
import { TOPICS } from '../../core/model.js';
import type { Catalogue, SchemaEntry, SchemaNamespace } from '../../schemas/catalogue.js';
import { catalogue as defaultCatalogue } from '../../schemas/catalogue.js';
import { MAGIC } from '../../schemas/codec.js';
import { fingerprintHex, parsingCanonicalForm, rabinFingerprint } from '../../schemas/rabin.js';

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';
const SINGLE_OBJECT_HEADER = 10;
const CONFLUENT_HEADER = 5;

/** A registry call failed; 5xx, timeouts and unreachable servers are retriable, 4xx are not. */
export class SchemaRegistryError extends EngramError {
  constructor(message: string, opts: { retriable: boolean; details?: Record<string, unknown>; cause?: unknown }) {
    super(message, { code: 'schema_registry', retriable: opts.retriable, details: opts.details, cause: opts.cause });
  }
}

export type SubjectStrategy = 'topic-record' | 'topic';

export interface SchemaRegistryOptions {
  /** Base URL; user:password in it becomes HTTP basic auth. */
  readonly url: string;
  /** Per-request timeout (default 5000 ms). */
  readonly timeoutMs?: number;
  readonly subjectStrategy?: SubjectStrategy;
  readonly catalogue?: Catalogue;
  /** Topic of each namespace (default: the service's topics). */
  readonly topics?: Readonly<Record<SchemaNamespace, string>>;
}

/** One catalogue entry as registered. */
export interface RegisteredSchema {
  readonly subject: string;
  readonly id: number;
  readonly name: string;
  readonly version: number;
  readonly fingerprintHex: string;
}

const DEFAULT_TOPICS: Readonly<Record<SchemaNamespace, string>> = {
  conversation: TOPICS.conversation,
  memory: TOPICS.memory,
};

/** A client for a Confluent-compatible schema registry, over `fetch`. */
export class SchemaRegistryClient {
  private readonly base: string;
  private readonly auth: string | undefined;
  private readonly timeoutMs: number;
  private readonly strategy: SubjectStrategy;
  private readonly cat: Catalogue;
  private readonly topics: Readonly<Record<SchemaNamespace, string>>;
  private readonly idByFingerprint = new Map<string, number>();
  private readonly entryById = new Map<number, SchemaEntry>();

  constructor(opts: SchemaRegistryOptions) {
    const url = new URL(opts.url);
    if (url.username !== '' || url.password !== '') {
      const user = decodeURIComponent(url.username);
      const pass = decodeURIComponent(url.password);
      this.auth = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
      url.username = '';
      url.password = '';
    }
    this.base = url.toString().replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.strategy = opts.subjectStrategy ?? 'topic-record';
    this.cat = opts.catalogue ?? defaultCatalogue();
    this.topics = opts.topics ?? DEFAULT_TOPICS;
  }

  /** The subject an entry is registered under. */
  subjectOf(entry: SchemaEntry, subjectPrefix = ''): string {
    const topic = this.topics[entry.namespace];
    return this.strategy === 'topic' ? `${subjectPrefix}${topic}-value` : `${subjectPrefix}${topic}-${entry.fullName}`;
  }

  /**
   * Registers every catalogue schema, oldest version first, and remembers the ids for the
   * conversions. Idempotent: a registry returns the existing id for a schema it already has.
   */
  async registerCatalogue(subjectPrefix = ''): Promise<RegisteredSchema[]> {
    const out: RegisteredSchema[] = [];
    for (const entry of this.cat.entries) {
      const subject = this.subjectOf(entry, subjectPrefix);
      const path = `/subjects/${encodeURIComponent(subject)}/versions`;
      let body: unknown;
      try {
        body = await this.request('POST', path, { schema: entry.canonical, schemaType: 'AVRO' });
      } catch (err) {
        if (err instanceof SchemaRegistryError && err.details.status === 409) {
          const hint =
            this.strategy === 'topic'
              ? '; a topic-wide subject holds several record types, so set its compatibility to NONE or use the topic-record strategy'
              : '';
          throw new SchemaRegistryError(
            `subject ${subject} rejected ${entry.name} v${entry.version} as incompatible (409): ${err.message}${hint}`,
            { retriable: false, details: { ...err.details, subject, schema: `${entry.name} v${entry.version}` }, cause: err },
          );
        }
        throw err;
      }
      const id = (body as { id?: unknown } | null)?.id;
      if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0 || id > 0xffffffff) {
        throw new SchemaRegistryError(`registry answered ${path} without a schema id`, { retriable: false, details: { subject } });
      }
      this.remember(id, entry);
      out.push({ subject, id, name: entry.name, version: entry.version, fingerprintHex: entry.fingerprintHex });
    }
    return out;
  }

  /** Single-object bytes → Confluent framing; DecodeError when the schema is unknown or not registered. */
  toConfluent(bytes: Uint8Array): Uint8Array {
    const buf = asBuffer(bytes);
    if (buf.length < SINGLE_OBJECT_HEADER || buf[0] !== MAGIC[0] || buf[1] !== MAGIC[1]) {
      throw new DecodeError('not Avro single-object encoding (expected c301 and an 8-byte fingerprint)', { reason: 'magic' });
    }
    const fp = fingerprintHex(buf.subarray(2, SINGLE_OBJECT_HEADER));
    const id = this.idByFingerprint.get(fp);
    if (id === undefined) {
      const entry = this.cat.byFingerprint(buf.subarray(2, SINGLE_OBJECT_HEADER));
      const what = entry ? `${entry.name} v${entry.version} is not registered yet (call registerCatalogue)` : `unknown schema fingerprint ${fp}`;
      throw new DecodeError(what, { reason: 'fingerprint', fingerprint: fp });
    }
    const header = Buffer.alloc(CONFLUENT_HEADER);
    header.writeUInt32BE(id, 1);
    return Buffer.concat([header, buf.subarray(SINGLE_OBJECT_HEADER)]);
  }

  /** Confluent framing → single-object bytes, for ids this client knows (registered or resolved). */
  fromConfluent(bytes: Uint8Array): Uint8Array {
    const { id, body } = splitConfluent(bytes);
    const entry = this.entryById.get(id);
    if (entry === undefined) {
      throw new DecodeError(`unknown schema id ${id} (fromConfluentAsync looks it up)`, { reason: 'schema_id', schemaId: id });
    }
    return Buffer.concat([MAGIC, entry.fingerprint, body]);
  }

  /** Like `fromConfluent`, but asks the registry for ids it does not know yet. */
  async fromConfluentAsync(bytes: Uint8Array): Promise<Uint8Array> {
    const { id } = splitConfluent(bytes);
    if (!this.entryById.has(id)) await this.resolveId(id);
    return this.fromConfluent(bytes);
  }

  /** The catalogue entry of a registry id, matched by the canonical form's fingerprint. */
  async resolveId(id: number): Promise<SchemaEntry> {
    const known = this.entryById.get(id);
    if (known) return known;
    const body = (await this.request('GET', `/schemas/ids/${id}`)) as { schema?: unknown; schemaType?: unknown } | null;
    if (body?.schemaType !== undefined && body.schemaType !== 'AVRO') {
      throw new DecodeError(`schema id ${id} is ${String(body.schemaType)}, not Avro`, { reason: 'schema_id', schemaId: id });
    }
    if (typeof body?.schema !== 'string') {
      throw new SchemaRegistryError(`registry answered schema id ${id} without a schema`, { retriable: false });
    }
    let canonical: string;
    try {
      canonical = parsingCanonicalForm(avsc.Type.forSchema(JSON.parse(body.schema) as Schema, { wrapUnions: 'never' }));
    } catch (err) {
      throw new DecodeError(`schema id ${id} does not parse: ${(err as Error).message}`, { reason: 'schema_id', schemaId: id }, err);
    }
    const entry = this.cat.byFingerprint(rabinFingerprint(canonical));
    if (entry === undefined) {
      throw new DecodeError(`schema id ${id} is not in the catalogue`, { reason: 'fingerprint', schemaId: id });
    }
    this.remember(id, entry);
    return entry;
  }

  private remember(id: number, entry: SchemaEntry): void {
    this.idByFingerprint.set(entry.fingerprintHex, id);
    this.entryById.set(id, entry);
  }

  private async request(method: 'GET' | 'POST', path: string, json?: unknown): Promise<unknown> {
    const headers: Record<string, string> = { accept: `${CONTENT_TYPE}, application/json` };
    if (json !== undefined) headers['content-type'] = CONTENT_TYPE;
    if (this.auth !== undefined) headers.authorization = this.auth;
    const where = `${method} ${this.base}${path}`;
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers,
        body: json === undefined ? undefined : JSON.stringify(json),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new SchemaRegistryError(`${where}: ${(err as Error).message}`, { retriable: true, cause: err });
    }
    const text = await res.text().catch(() => '');
    let body: unknown = null;
    try {
      body = text === '' ? null : JSON.parse(text);
    } catch {
      body = null;
    }
    if (!res.ok) {
      const message = (body as { message?: unknown } | null)?.message;
      const errorCode = (body as { error_code?: unknown } | null)?.error_code;
      throw new SchemaRegistryError(`${where}: ${res.status} ${typeof message === 'string' ? message : res.statusText}`, {
        retriable: res.status >= 500 || res.status === 429,
        details: { status: res.status, errorCode },
      });
    }
    return body;
  }
}

/** The registry client of the cluster settings, or null when no registry is configured. */
export function schemaRegistryFromConfig(
  cluster: { readonly schemaRegistryUrl?: string | undefined },
  opts: Omit<SchemaRegistryOptions, 'url'> = {},
): SchemaRegistryClient | null {
  return cluster.schemaRegistryUrl === undefined ? null : new SchemaRegistryClient({ ...opts, url: cluster.schemaRegistryUrl });
}

function asBuffer(bytes: Uint8Array): Buffer {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError(`expected bytes, got ${typeof bytes}`, { reason: 'input' });
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function splitConfluent(bytes: Uint8Array): { id: number; body: Buffer } {
  const buf = asBuffer(bytes);
  if (buf.length < CONFLUENT_HEADER || buf[0] !== 0) {
    throw new DecodeError('not Confluent wire format (expected 00 and a 4-byte schema id)', { reason: 'magic' });
  }
  return { id: buf.readUInt32BE(1), body: buf.subarray(CONFLUENT_HEADER) };
}
