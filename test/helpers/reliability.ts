/**
 * Shared pieces of the reliability battery (issue 7): a fast deterministic embedder, the battery's
 * event stream, checkpoint samples and their monotonicity, duplicate detection, the accounting of
 * every published event, and the summary line the battery prints.
 */
import { createHash } from 'node:crypto';
import { writeSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import Database from 'better-sqlite3';
import { Engine } from '../../apps/engine.js';
import { DecodeError } from '../../core/errors.js';
import type { ConversationEvent, MemoryEvent } from '../../core/model.js';
import { TOPICS } from '../../core/model.js';
import type { AppendRecord, Embedder, MemoryState } from '../../core/ports.js';
import type { Clock, Rng } from '../../core/random.js';
import { scopeKey, workflowIdOf } from '../../core/scope.js';
import { catalogue } from '../../schemas/catalogue.js';
import { decodeMemoryEvent, encodeConversationEvent, encodeMemoryEvent, encodeRecord, eventRecord } from '../../schemas/codec.js';
import { RecordSealer } from '../../streams/record-sealer.js';
import { sampleOf } from '../../schemas/fixtures/samples.js';
import { loadConfig } from '../../infra/config.js';
import type { UseLiteEmbedder } from '../../infra/embedder/use-lite.js';
import { DATA_FILES } from '../../infra/profile/embedded.js';
import { syntheticConversations } from './synthetic.js';

/**
 * A deterministic bag-of-words embedder (512-d, signed feature hashing, unit length). Crash,
 * redelivery and isolation do not depend on the model, and the offline encoder costs half of the
 * pipeline's CPU, so the battery swaps it for this one: equal texts get equal vectors and texts
 * sharing words stay close, which keeps consolidation's decisions realistic.
 */
export class HashEmbedder implements Embedder {
  readonly modelId: string;
  /** Model calls made, as UseLiteEmbedder counts them (replays must leave this at 0). */
  calls = 0;

  constructor(readonly dimensions = 512) {
    this.modelId = `hash-bow-${dimensions}/test`;
  }

  /** One unit vector per text; an empty text gets a fixed unit vector. */
  async embed(texts: readonly string[]): Promise<number[][]> {
    if (texts.length === 0) return [];
    this.calls++;
    return texts.map((text) => {
      const v = new Array<number>(this.dimensions).fill(0);
      const words = text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((w) => w.length > 0);
      for (const w of words.length > 0 ? words : ['.']) {
        const h = createHash('sha1').update(w).digest();
        const i = h.readUInt16LE(0) % this.dimensions;
        v[i] = (v[i] ?? 0) + ((h[2] ?? 0) & 1 ? 1 : -1);
      }
      const norm = Math.hypot(...v);
      // Words whose signs cancel out: any fixed unit vector will do.
      if (norm === 0) v[0] = 1;
      return v.map((x) => Math.fround(norm === 0 ? x : x / norm));
    });
  }
}

/** A clock that always says the same time: two runs over the same input then write the same data. */
export const FIXED_CLOCK: Clock = { now: () => Date.parse('2024-06-01T12:00:00Z') };

/** Opens an engine over `dataDir` with the hash embedder (512-d unless told), setting overrides and an optional clock. */
export function openBatteryEngine(
  dataDir: string,
  overrides: Record<string, unknown> = {},
  opts: { readonly clock?: Clock; readonly dimensions?: number } = {},
): Promise<Engine> {
  // The open option is typed as the offline model (it has private members); the engine only uses
  // the Embedder port and the `calls` counter, which HashEmbedder has.
  const embedder = new HashEmbedder(opts.dimensions) as unknown as UseLiteEmbedder;
  return Engine.open(loadConfig({}, { dataDir, ...overrides }), opts.clock ? { embedder, clock: opts.clock } : { embedder });
}

/**
 * The battery's stream: `users` × `messages` short synthetic messages (with session ends),
 * interleaved across users in time order as a live platform would publish them.
 */
export function batteryEvents(opts: { users: number; messages: number; seed: number; tenantId?: string }): ConversationEvent[] {
  const events = syntheticConversations(opts);
  // Stable sort: each user's own order is kept.
  return events.map((e, i) => ({ e, i })).sort((a, b) => a.e.occurredAt - b.e.occurredAt || a.i - b.i).map(({ e }) => e);
}

/**
 * The stream plus, per user, the rest of a message's life: an edit, a redaction, feedback, and
 * (for every other user) a request to forget one message, which shreds its keys.
 */
export function withLifecycle(events: readonly ConversationEvent[]): ConversationEvent[] {
  const out = [...events];
  const byUser = new Map<string, ConversationEvent[]>();
  for (const e of events) if (e.payload.type === 'MessagePosted') byUser.set(scopeKey(e), [...(byUser.get(scopeKey(e)) ?? []), e]);
  let u = 0;
  for (const posted of byUser.values()) {
    const last = posted[posted.length - 1];
    if (!last || posted.length < 6) continue;
    const base = { tenantId: last.tenantId, userId: last.userId, conversationId: last.conversationId, sessionId: `${last.userId}-later` };
    const at = (k: number): number => last.occurredAt + 86_400_000 + k * 60_000;
    const id = (k: number): string => (posted[k]?.payload.type === 'MessagePosted' ? posted[k].payload.messageId : '');
    out.push(
      { ...base, eventId: `${last.userId}-edit`, occurredAt: at(1), payload: { type: 'MessageEdited', messageId: id(1), text: 'I live in Reykjavik now.' } },
      { ...base, eventId: `${last.userId}-redact`, occurredAt: at(2), payload: { type: 'MessageRedacted', messageId: id(2), reason: 'typo' } },
      {
        ...base,
        eventId: `${last.userId}-feedback`,
        occurredAt: at(3),
        payload: { type: 'FeedbackGiven', memoryId: null, messageId: id(3), rating: 'down', comment: 'not quite' },
      },
    );
    if (u++ % 2 === 1) {
      out.push({
        ...base,
        eventId: `${last.userId}-forget`,
        occurredAt: at(4),
        payload: { type: 'ForgetRequested', scope: 'message', targetId: id(4), reason: 'user asked' },
      });
    }
  }
  return out;
}

/** The kinds of poison the battery publishes, each a way a real producer can go wrong. */
export const POISON_KINDS = ['random-bytes', 'truncated', 'empty', 'schema-violation', 'wrong-namespace', 'key-mismatch'] as const;
export type PoisonKind = (typeof POISON_KINDS)[number];

/** A raw record that the ingest bridge must dead-letter, and the DLQ code it must get. */
export interface PoisonRecord extends AppendRecord {
  readonly kind: PoisonKind;
  readonly expectedCode: string;
}

/**
 * A poison record shaped after a valid event `like` (same key, so it sits in that user's
 * partition between good events). `dedupKey` makes re-publishing it after a crash idempotent.
 */
export function poisonRecord(kind: PoisonKind, n: number, rng: Rng, like: ConversationEvent): PoisonRecord {
  const key = scopeKey(like);
  const dedupKey = `poison/${n}`;
  const good = encodeConversationEvent({ ...like, eventId: `poison-${n}` });
  switch (kind) {
    case 'random-bytes': {
      const bytes = Uint8Array.from({ length: 8 + Math.floor(rng.next() * 120) }, () => Math.floor(rng.next() * 256));
      // Random bytes could start with the Avro magic by chance; they must not, to stay undecodable.
      bytes[0] = 0x7b;
      return { kind, expectedCode: 'undecodable', key, dedupKey, value: bytes };
    }
    case 'truncated':
      return { kind, expectedCode: 'undecodable', key, dedupKey, value: good.subarray(0, 10 + Math.floor(rng.next() * (good.length - 11))) };
    case 'empty':
      return { kind, expectedCode: 'undecodable', key, dedupKey, value: new Uint8Array(0) };
    case 'schema-violation': {
      // Well-formed Avro of a valid schema whose values break the domain rules.
      const flat = eventRecord({ ...like, eventId: `poison-${n}` });
      const broken = [{ tenantId: "x' OR '1'='1" }, { eventId: '' }, { occurredAt: -5 }, { userId: 'a/b' }][n % 4];
      const name = like.payload.type;
      return { kind, expectedCode: 'invalid_input', key, dedupKey, value: encodeRecord(name, catalogue().latest(name)?.version ?? 1, { ...flat, ...broken }) };
    }
    case 'wrong-namespace': {
      // A memory event on the conversation topic: decodable Avro, but not a conversation event.
      const sample = sampleOf('MemoryAccessed', 1);
      if (sample === undefined) throw new Error('no MemoryAccessed v1 sample');
      return { kind, expectedCode: 'undecodable', key, dedupKey, value: encodeMemoryEvent(sample.event as Parameters<typeof encodeMemoryEvent>[0]) };
    }
    case 'key-mismatch':
      return { kind, expectedCode: 'key_mismatch', key: `${like.tenantId}/someone-else`, dedupKey, value: good };
  }
}

/** Named figures of one point in time: offsets, checkpoints and counters that must never go back. */
export type CheckpointSample = Record<string, number>;

/**
 * Samples every forward-only position of an open engine: log end offsets, consumer-group offsets,
 * projector checkpoints (memory.db and graph), workflow batch numbers and the count of done inputs.
 */
export async function sampleCheckpoints(engine: Engine): Promise<CheckpointSample> {
  const { log } = engine.ports;
  const out: CheckpointSample = {};
  for (const topic of Object.values(TOPICS)) {
    for (let p = 0; p < (await log.partitions(topic)); p++) out[`end/${topic}/${p}`] = await log.endOffset(topic, p);
  }
  const memoryPartitions = await log.partitions(TOPICS.memory);
  for (const projection of engine.projectors.projections) {
    for (let p = 0; p < memoryPartitions; p++) {
      out[`checkpoint/${projection.name}/${p}`] = await projection.checkpoints.checkpoint(projection.name, TOPICS.memory, p);
    }
  }
  // Committed group offsets and runner progress have no port method: read the files (a second
  // read-only connection is safe next to the engine's under WAL).
  const logDb = new Database(join(engine.ports.dataDir, DATA_FILES.log), { readonly: true });
  try {
    const rows = logDb.prepare('SELECT "group" AS g, topic, "partition" AS p, next_offset AS n FROM group_offsets').all() as {
      g: string;
      topic: string;
      p: number;
      n: number;
    }[];
    for (const r of rows) out[`group/${r.g}/${r.topic}/${r.p}`] = r.n;
  } finally {
    logDb.close();
  }
  const runnerDb = new Database(join(engine.ports.dataDir, DATA_FILES.runner), { readonly: true });
  try {
    for (const r of runnerDb.prepare('SELECT id, last_batch FROM workflows').all() as { id: string; last_batch: number }[]) {
      out[`batch/${r.id}`] = r.last_batch;
    }
    out['runner/done-inputs'] = (runnerDb.prepare('SELECT count(*) AS n FROM done_inputs').get() as { n: number }).n;
  } finally {
    runnerDb.close();
  }
  return out;
}

/** Pure: every figure that went back (or vanished) between two samples, as readable lines. */
export function checkpointRegressions(before: CheckpointSample, after: CheckpointSample): string[] {
  const out: string[] = [];
  for (const [name, value] of Object.entries(before)) {
    const now = after[name];
    if (now === undefined) out.push(`${name} vanished (was ${value})`);
    else if (now < value) out.push(`${name} went back from ${value} to ${now}`);
  }
  return out;
}

/**
 * Pure: groups of two or more active memories that say the same thing from the same source
 * messages (same scope, kind, granularity, text and source message ids).
 */
function duplicateGroups(states: readonly MemoryState[]): { key: string; ids: string[] }[] {
  const groups = new Map<string, string[]>();
  for (const s of states) {
    if (s.status !== 'active') continue;
    const m = s.memory;
    const sources = [...new Set(m.sources.map((x) => x.messageId))].sort();
    const key = JSON.stringify([m.tenantId, m.userId, m.kind, m.granularity, m.text, sources]);
    groups.set(key, [...(groups.get(key) ?? []), m.id]);
  }
  return [...groups].filter(([, ids]) => ids.length > 1).map(([key, ids]) => ({ key, ids }));
}

/** Pure: one readable line per group of duplicated active memories (none: `[]`). */
export function duplicateMemories(states: readonly MemoryState[]): string[] {
  return duplicateGroups(states).map(({ key, ids }) => `${ids.length}× ${key} (${ids.join(', ')})`);
}

/** Pure: how many active memories duplicate another (each group beyond its first member). */
export function duplicateCount(states: readonly MemoryState[]): number {
  return duplicateGroups(states).reduce((n, g) => n + g.ids.length - 1, 0);
}

/** Every memory (any status) of every user the events name. */
export async function allMemories(engine: Engine, events: readonly ConversationEvent[], all = true): Promise<MemoryState[]> {
  const scopes = new Map(events.map((e) => [`${e.tenantId}/${e.userId}`, { tenantId: e.tenantId, userId: e.userId }]));
  const out: MemoryState[] = [];
  for (const scope of [...scopes.values()]) out.push(...(await engine.memories(scope, all)));
  return out;
}

/**
 * Every memory event of the log, opened with the engine's keys. Erased and undecodable records
 * are errors, unless the test asked for erasure (`skipErased`) or planted garbage (`skipUndecodable`).
 */
export async function memoryLog(engine: Engine, opts: { skipUndecodable?: boolean; skipErased?: boolean } = {}): Promise<MemoryEvent[]> {
  const { log } = engine.ports;
  const opener = new RecordSealer(engine.ports.keys);
  const out: MemoryEvent[] = [];
  for (let p = 0; p < (await log.partitions(TOPICS.memory)); p++) {
    for (let from = 0; ; ) {
      const batch = await log.read(TOPICS.memory, p, from, 2000);
      if (batch.length === 0) break;
      for (const r of batch) {
        const opened = await opener.open(r);
        if (opened.erased && opts.skipErased) continue;
        if (opened.erased) throw new Error(`memory record ${p}/${r.offset} was erased, yet nothing asked for erasure`);
        try {
          out.push(decodeMemoryEvent(opened.bytes));
        } catch (err) {
          if (!(opts.skipUndecodable && err instanceof DecodeError)) throw err;
        }
      }
      from = (batch[batch.length - 1]?.offset ?? from) + 1;
    }
  }
  return out;
}

/**
 * Pure: ids of the posted messages that left no trace: not a source of any memory, and not the
 * cause of a reinforcement (a repeated message reinforces the memory it repeats).
 */
export function unrememberedMessages(
  events: readonly ConversationEvent[],
  memories: readonly MemoryState[],
  memoryEvents: readonly MemoryEvent[],
): string[] {
  const sources = new Set(memories.flatMap((s) => s.memory.sources.map((x) => x.messageId)));
  const reinforcedBy = new Set(memoryEvents.filter((e) => e.payload.type === 'MemoryReinforced').map((e) => e.causationId));
  return events.flatMap((e) =>
    e.payload.type === 'MessagePosted' && !sources.has(e.payload.messageId) && !reinforcedBy.has(e.eventId) ? [e.eventId] : [],
  );
}

/** What became of the published events: handed to their workflow and completed, or neither. */
export interface Accounting {
  /** Events whose input is done in their user's workflow. */
  readonly processed: number;
  /** Events neither done nor pending: lost. */
  readonly lost: readonly string[];
  /** Events still waiting in a workflow inbox. */
  readonly pending: number;
}

/** Checks every event against the runner's done inputs (the durable record of completed hand-offs). */
export function accountFor(dataDir: string, events: readonly ConversationEvent[]): Accounting {
  const db = new Database(join(dataDir, DATA_FILES.runner), { readonly: true });
  try {
    const done = new Set(
      (db.prepare('SELECT workflow_id, input_id FROM done_inputs').all() as { workflow_id: string; input_id: string }[]).map(
        (r) => `${r.workflow_id}|${r.input_id}`,
      ),
    );
    const pending = (db.prepare('SELECT count(*) AS n FROM inbox').get() as { n: number }).n;
    const lost: string[] = [];
    let processed = 0;
    for (const e of events) {
      if (done.has(`${workflowIdOf(e)}|${e.eventId}`)) processed++;
      else lost.push(e.eventId);
    }
    return { processed, lost, pending };
  } finally {
    db.close();
  }
}

/** A projection snapshot as test/helpers/snapshot.ts takes it. */
export interface ProjectionSnapshot {
  readonly hash: string;
  readonly memoryDb: Record<string, string[]>;
  readonly graph: string[];
}

/** JSON with object keys sorted at every depth (engines may return properties in any order). */
function canonicalJson(v: unknown): string {
  const sortKeys = (x: unknown): unknown =>
    Array.isArray(x)
      ? x.map(sortKeys)
      : x && typeof x === 'object'
        ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, y]) => [k, sortKeys(y)]))
        : x;
  return JSON.stringify(sortKeys(v));
}

/**
 * Pure: a snapshot with the surrogate keys a rebuild may allocate in another order replaced by
 * what they stand for: the vector index's integer doc id (shared by vec_docs, vec_vectors,
 * vec_memories and fts_memories rowids) becomes the memory id, and graph rows get sorted property keys. Two
 * canonical snapshots are equal when the projections hold the same data.
 */
export function canonicalSnapshot(s: Pick<ProjectionSnapshot, 'memoryDb' | 'graph'>): ProjectionSnapshot {
  const docs = new Map<number, string>();
  for (const row of s.memoryDb['vec_docs'] ?? []) {
    const r = JSON.parse(row) as { doc_id: number; memory_id: string };
    docs.set(r.doc_id, r.memory_id);
  }
  const memoryDb: Record<string, string[]> = {};
  for (const [table, rows] of Object.entries(s.memoryDb)) {
    memoryDb[table] = rows
      .map((row) => {
        const r = JSON.parse(row) as Record<string, unknown>;
        if (table === 'vec_docs' || table === 'vec_vectors') r['doc_id'] = docs.get(r['doc_id'] as number) ?? `orphan:${String(r['doc_id'])}`;
        else if (table === 'vec_memories' || table === 'fts_memories') r['rowid'] = docs.get(r['rowid'] as number) ?? `orphan:${String(r['rowid'])}`;
        return canonicalJson(r);
      })
      .sort();
  }
  const graph = s.graph.map((row) => canonicalJson(JSON.parse(row))).sort();
  return { memoryDb, graph, hash: createHash('sha256').update(canonicalJson({ memoryDb, graph })).digest('hex') };
}

/** The figures a battery test reports. */
export interface BatteryFigures {
  readonly events: number;
  readonly crashes?: number;
  readonly lost: number;
  readonly duplicated: number;
  /** Anything else worth printing after the main figures, e.g. "12 dead-lettered, 41 s". */
  readonly extra?: string;
}

/** Pure: the battery's summary line, e.g. "5000 events, 23 crashes: 0 lost, 0 duplicated". */
export function batterySummary(f: BatteryFigures): string {
  const crashes = f.crashes === undefined ? '' : `, ${f.crashes} crashes`;
  return `${f.events} events${crashes}: ${f.lost} lost, ${f.duplicated} duplicated${f.extra ? ` (${f.extra})` : ''}`;
}

/**
 * Prints a battery line through ava's log and to stdout (so CI logs show it even without
 * --verbose): the standard figures, or a line of its own for tests that count other things.
 */
export function reportBattery(t: ExecutionContext, name: string, f: BatteryFigures | string): string {
  const line = `[battery] ${name}: ${typeof f === 'string' ? f : batterySummary(f)}`;
  t.log(line);
  writeSync(1, `${line}\n`);
  return line;
}
