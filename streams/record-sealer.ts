/**
 * Crypto-shredding for the logs (DESIGN.md §6, "erasure leaves no trace"): records that hold a
 * user's words are sealed with AES-256-GCM under a key of that user's keyring, so erasure destroys
 * keys and the log is never rewritten.
 *
 * - A message's events are sealed with the message's own key (`msg:<id>`), a memory's events with
 *   the memory's key (`mem:<id>`), and other user data (feedback, lessons, cluster models, access
 *   and usage records) with the user's key (`user`).
 * - Records that must stay readable after erasure carry no user text and are not sealed: session
 *   ends, forget requests and `MemoryForgotten` tombstones (a rebuild must still see them).
 * - The envelope is in schemas/sealed-envelope.ts. Unsealed records (plain Avro, e.g. from an
 *   external producer) pass through, so sealing can be turned on without rewriting history.
 */
import { DecodeError } from '../core/errors.js';
import type { ConversationEvent, MemoryEvent } from '../core/model.js';
import type { AppendRecord, KeyStore, LogRecord } from '../core/ports.js';
import { scopeKey, scopeOf, type Scope } from '../core/scope.js';
import { encodeConversationEvent, encodeMemoryEvent } from '../schemas/codec.js';
import { isSealed, openBytes, sealBytes, sealedKeyIdOf } from '../schemas/sealed-envelope.js';

/** What opening a record gives: its plain Avro bytes, or the fact that its key was destroyed. */
export type OpenedRecord = { readonly erased: false; readonly bytes: Uint8Array } | { readonly erased: true; readonly keyId: string };

/**
 * Opening one record of many: what it gave, or why it cannot be opened (tampered, misplaced).
 * `authenticated` says the bytes passed AES-GCM under a key of ours: Engram itself wrote them.
 */
export type OpenResult =
  | { readonly ok: true; readonly opened: OpenedRecord; readonly authenticated: boolean }
  | { readonly ok: false; readonly error: DecodeError };

/** The key a conversation event is sealed with, or null when it stays plain. */
export function conversationKeyIdOf(e: ConversationEvent): string | null {
  const p = e.payload;
  switch (p.type) {
    case 'MessagePosted':
    case 'MessageEdited':
    case 'MessageRedacted':
      return `msg:${p.messageId}`;
    case 'FeedbackGiven':
    case 'QuarantineReviewed': // a reviewer's reason may quote the memory
      return 'user';
    case 'SessionEnded':
    case 'ForgetRequested':
    case 'GuardRescanRequested':
      return null;
  }
}

/** The key a memory event is sealed with, or null when it stays plain. */
export function memoryKeyIdOf(e: MemoryEvent): string | null {
  const p = e.payload;
  switch (p.type) {
    case 'MemoryAdded':
    case 'MemoryUpdated':
    case 'MemoryQuarantined':
      return `mem:${p.memory.id}`;
    case 'MemoryInvalidated':
    case 'MemoryRestored':
    case 'MemoryReleased':
    case 'MemoryReinforced':
    case 'MemoryArchived':
    case 'ClusterAssigned':
      return `mem:${p.memoryId}`;
    case 'MemoryForgotten':
      return null;
    case 'ClusterModelFitted':
    case 'LessonRecorded':
    case 'MemoryAccessed':
    case 'ModelCalled':
      return 'user';
  }
}

/** Parses a record key `tenant/user` into its scope (DecodeError when it is not one). */
function scopeOfRecordKey(key: string): Scope {
  const cut = key.indexOf('/');
  try {
    return scopeOf(key.slice(0, cut), key.slice(cut + 1));
  } catch (cause) {
    throw new DecodeError(`sealed record has no tenant/user key: ${JSON.stringify(key.slice(0, 100))}`, { reason: 'key' }, cause);
  }
}

/**
 * Builds the log records of events, sealing them over a KeyStore, and opens them again. Without a
 * key store records are written plain and sealed ones cannot be opened; with `seal: false` records
 * are written plain but sealed ones still open and erasure still destroys keys.
 */
export class RecordSealer {
  private readonly sealWrites: boolean;

  constructor(
    private readonly keys: KeyStore | null,
    opts: { readonly seal?: boolean } = {},
  ) {
    this.sealWrites = keys !== null && (opts.seal ?? true);
  }

  /** Whether records are sealed on write. */
  get sealing(): boolean {
    return this.sealWrites;
  }

  /** The `conversation-events` records of validated events: key `tenant/user`, dedup by event id. */
  async conversationRecords(events: readonly ConversationEvent[]): Promise<AppendRecord[]> {
    return this.seal(events, conversationKeyIdOf, encodeConversationEvent);
  }

  /** The `memory-events` records of memory events: key `tenant/user`, dedup by event id. */
  async memoryRecords(events: readonly MemoryEvent[]): Promise<AppendRecord[]> {
    return this.seal(events, memoryKeyIdOf, encodeMemoryEvent);
  }

  /** The plain bytes of a record, or `erased` when its key has been destroyed. */
  async open(record: Pick<LogRecord, 'key' | 'value'>): Promise<OpenedRecord> {
    if (!isSealed(record.value)) return { erased: false, bytes: record.value };
    const keyId = sealedKeyIdOf(record.value);
    if (this.keys === null) throw new DecodeError(`record sealed under ${keyId} but no key store is configured`, { reason: 'seal' });
    const scope = scopeOfRecordKey(record.key);
    const key = await this.keys.get(scope, keyId);
    if (key === null) return { erased: true, keyId };
    return { erased: false, bytes: openBytes(key, scope, record.value) };
  }

  /**
   * Opens many records, looking each key up once (a memory's events share its key). A record that
   * cannot be opened is reported in its place; a key store failure rejects the whole call.
   */
  async openAll(records: readonly Pick<LogRecord, 'key' | 'value'>[]): Promise<OpenResult[]> {
    const keys = new Map<string, Promise<Uint8Array | null>>();
    const out: OpenResult[] = [];
    for (const record of records) {
      try {
        if (!isSealed(record.value)) {
          out.push({ ok: true, opened: { erased: false, bytes: record.value }, authenticated: false });
          continue;
        }
        const keyId = sealedKeyIdOf(record.value);
        if (this.keys === null) throw new DecodeError(`record sealed under ${keyId} but no key store is configured`, { reason: 'seal' });
        const scope = scopeOfRecordKey(record.key);
        // A record key (`tenant/user`) holds no NUL, so this names one key of one user.
        const cacheKey = `${record.key}\u0000${keyId}`;
        let key = keys.get(cacheKey);
        if (key === undefined) {
          key = this.keys.get(scope, keyId);
          keys.set(cacheKey, key);
        }
        const bytes = await key;
        const opened: OpenedRecord = bytes === null ? { erased: true, keyId } : { erased: false, bytes: openBytes(bytes, scope, record.value) };
        out.push({ ok: true, opened, authenticated: bytes !== null });
      } catch (err) {
        if (!(err instanceof DecodeError)) throw err;
        out.push({ ok: false, error: err });
      }
    }
    return out;
  }

  /** Destroys keys of one user (no-op without a key store); returns how many existed. */
  async shred(scope: Scope, keyIds: readonly string[]): Promise<number> {
    return this.keys === null || keyIds.length === 0 ? 0 : this.keys.destroy(scope, keyIds);
  }

  /** Destroys a user's whole keyring; returns how many keys existed. */
  async shredUser(scope: Scope): Promise<number> {
    return this.keys === null ? 0 : this.keys.destroyAll(scope);
  }

  private async seal<E extends ConversationEvent | MemoryEvent>(
    events: readonly E[],
    keyIdOf: (e: E) => string | null,
    encode: (e: E) => Uint8Array,
  ): Promise<AppendRecord[]> {
    // Encode first: a bad event fails before any key is created.
    const plain = events.map((e) => ({ e, bytes: encode(e), keyId: this.sealWrites ? keyIdOf(e) : null }));
    const byScope = new Map<string, { scope: Scope; ids: Set<string> }>();
    for (const { e, keyId } of plain) {
      if (keyId === null) continue;
      const k = scopeKey(e);
      const entry = byScope.get(k) ?? { scope: scopeOf(e.tenantId, e.userId), ids: new Set<string>() };
      entry.ids.add(keyId);
      byScope.set(k, entry);
    }
    const keys = new Map<string, Map<string, Uint8Array>>();
    for (const [k, { scope, ids }] of byScope) keys.set(k, await (this.keys as KeyStore).obtain(scope, [...ids]));
    return plain.map(({ e, bytes, keyId }) => {
      const scope = scopeOf(e.tenantId, e.userId);
      const key = keyId === null ? undefined : keys.get(scopeKey(scope))?.get(keyId);
      return {
        key: scopeKey(scope),
        value: key === undefined || keyId === null ? bytes : sealBytes(key, keyId, scope, bytes),
        headers: { 'event-type': e.payload.type, 'event-id': e.eventId },
        dedupKey: e.eventId,
      };
    });
  }
}
