/**
 * The embedded MemoryStore: each memory's current state and version history, lessons and the
 * latest cluster model per user, in `memory.db`. The read side implements the MemoryStore port;
 * the write side (`applyEvents`) is what the store projector calls: it applies memory events
 * idempotently (by version) and advances the projector's checkpoint in the same transaction.
 */
import type { Statement } from 'better-sqlite3';
import { ValidationError } from '../../core/errors.js';
import { MEMORY_KINDS, MEMORY_STATUSES } from '../../core/model.js';
import type {
  AssociationLink,
  Lesson,
  LogPosition,
  Memory,
  MemoryEvent,
  MemoryEventType,
  MemoryKind,
  MemoryStatus,
} from '../../core/model.js';
import type { ListOptions, MemoryState, MemoryStore, MemoryVersion, ModelUsageTotal } from '../../core/ports.js';
import { assertScopeId, scopeOf } from '../../core/scope.js';
import type { Scope } from '../../core/scope.js';
import { textHashOf } from '../../core/text.js';
import { sqliteError } from '../sqlite/open.js';
import type { Db } from '../sqlite/open.js';
import { decodeEmbeddingBlob, encodeEmbeddingBlob } from './embedding-blob.js';
import type { MemoryDb, SqliteCheckpointStore } from './memory-db.js';

/** A memory event with the log position it was read from. */
export interface PositionedMemoryEvent {
  readonly event: MemoryEvent;
  readonly position: LogPosition;
}

/** Counts of a user's memories by status and by kind (erased memories count only as `forgotten`). */
export interface MemoryStats {
  readonly total: number;
  readonly byStatus: Readonly<Record<MemoryStatus, number>>;
  readonly byKind: Readonly<Record<MemoryKind, number>>;
}

/** What `applyEvents` did, for projector metrics. */
export interface ApplyResult {
  /** Records past the checkpoint (their effect may still be a no-op when their version is stale). */
  readonly applied: number;
  /** Records at offsets the projector had already applied. */
  readonly skipped: number;
}

interface Row {
  tenant_id: string;
  user_id: string;
  id: string;
  status: MemoryStatus;
  version: number;
  kind: MemoryKind | null;
  memory_json: string | null;
  embedding: Buffer | null;
  quarantine_reasons: string;
  decision_reason: string;
  invalidated_by: string | null;
  clusters_json: string;
  links_json: string;
  accesses: number;
  last_touched_at: number | null;
}

interface HistoryRow {
  version: number;
  type: MemoryEventType;
  recorded_at: number;
  status: MemoryStatus;
  text: string;
  valid_from: number;
  valid_to: number | null;
  reason: string;
  event_id: string;
}

/** The columns of `putRow`, in order. */
type PutRow = [
  tenantId: string,
  userId: string,
  id: string,
  status: MemoryStatus,
  version: number,
  kind: MemoryKind | null,
  textHash: string | null,
  subjectKey: string | null,
  predicateKey: string | null,
  invalidatedBy: string | null,
  recordedAt: number | null,
  memoryJson: string | null,
  embedding: Buffer | null,
  quarantineReasons: string,
  decisionReason: string,
  clustersJson: string,
  linksJson: string,
  accesses: number,
  lastTouchedAt: number | null,
];

/** The lifecycle fields a versioned event changes. */
interface Lifecycle {
  readonly status: MemoryStatus;
  readonly reason: string;
  readonly quarantineReasons: readonly string[];
  readonly invalidatedBy: string | null;
  readonly validTo: number | null;
  readonly supersededAt: number | null;
}

const ROW_COLUMNS = `tenant_id, user_id, id, status, version, kind, memory_json, embedding, quarantine_reasons,
  decision_reason, invalidated_by, clusters_json, links_json, accesses, last_touched_at`;

/** What the write side reads of a memory before changing it: never the embedding (the bulk of a row). */
type WriteRow = Omit<Row, 'embedding'>;
const WRITE_COLUMNS = `tenant_id, user_id, id, status, version, kind, memory_json, quarantine_reasons,
  decision_reason, invalidated_by, clusters_json, links_json, accesses, last_touched_at`;

/** What a new version of a memory keeps of the stored one (and whether that one was erased). */
interface VersionRow {
  status: MemoryStatus;
  version: number;
  clusters_json: string;
  links_json: string;
  accesses: number;
  last_touched_at: number | null;
}

/** Lower-cased, NFKC, trimmed, single-spaced: how triple subjects and predicates are matched. */
export function tripleKey(value: string): string {
  return value.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();
}

/** SqliteMemoryStore implements MemoryStore (read side) and applies memory events (write side). */
export class SqliteMemoryStore implements MemoryStore {
  private readonly db: Db;
  private readonly path: string;
  private readonly checkpoints: SqliteCheckpointStore;
  private readonly s;
  private readonly dynamic = new Map<string, Statement>();
  /**
   * During a rebuild (`beginRebuild` … `endRebuild`): every memory row in the table, by
   * `rowKey`, and whether it is live (not a tombstone). A memory absent here is absent from the
   * table, so its first version is written without looking it up. Dropped (back to lookups) by
   * any failed write: a rolled-back transaction may have left entries that are not true.
   */
  private rows: Map<string, boolean> | null = null;

  constructor(memoryDb: MemoryDb) {
    this.db = memoryDb.db;
    this.path = memoryDb.path;
    this.checkpoints = memoryDb.checkpoints;
    const db = this.db;
    const scoped = 'tenant_id = ? AND user_id = ?';
    this.s = {
      row: db.prepare<[string, string, string], Row>(`SELECT ${ROW_COLUMNS} FROM mem_memories WHERE ${scoped} AND id = ?`),
      writeRow: db.prepare<[string, string, string], WriteRow>(`SELECT ${WRITE_COLUMNS} FROM mem_memories WHERE ${scoped} AND id = ?`),
      versionRow: db.prepare<[string, string, string], VersionRow>(
        `SELECT status, version, clusters_json, links_json, accesses, last_touched_at FROM mem_memories WHERE ${scoped} AND id = ?`,
      ),
      // Whether a memory exists and is not erased (a tombstone has status forgotten and no content).
      isLive: db.prepare<[string, string, string], { live: number }>(
        `SELECT 1 AS live FROM mem_memories WHERE ${scoped} AND id = ? AND status <> 'forgotten' AND memory_json IS NOT NULL`,
      ),
      // Positional parameters: binding by name costs a property lookup per column.
      putRow: db.prepare<PutRow>(
        `INSERT OR REPLACE INTO mem_memories (tenant_id, user_id, id, status, version, kind, text_hash, subject_key,
           predicate_key, invalidated_by, recorded_at, memory_json, embedding, quarantine_reasons, decision_reason,
           clusters_json, links_json, accesses, last_touched_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      setLifecycle: db.prepare(
        `UPDATE mem_memories SET status = ?, version = ?, memory_json = ?, invalidated_by = ?, decision_reason = ?,
           quarantine_reasons = ? WHERE ${scoped} AND id = ?`,
      ),
      setMemoryJson: db.prepare(`UPDATE mem_memories SET memory_json = ? WHERE ${scoped} AND id = ?`),
      // A reinforcement folds the retrievals so far into the stored strength and restarts the clock.
      reinforce: db.prepare(
        `UPDATE mem_memories SET memory_json = ?, accesses = 0, last_touched_at = max(coalesce(last_touched_at, 0), ?)
         WHERE ${scoped} AND id = ?`,
      ),
      access: db.prepare(
        `UPDATE mem_memories SET accesses = accesses + 1, last_touched_at = max(coalesce(last_touched_at, 0), ?)
         WHERE ${scoped} AND id = ? AND status <> 'forgotten'`,
      ),
      addUsage: db.prepare(
        `INSERT INTO mem_model_usage (tenant_id, model, purpose, calls, prompt_tokens, completion_tokens) VALUES (?, ?, ?, 1, ?, ?)
         ON CONFLICT (tenant_id, model, purpose) DO UPDATE SET calls = calls + 1,
           prompt_tokens = prompt_tokens + excluded.prompt_tokens, completion_tokens = completion_tokens + excluded.completion_tokens`,
      ),
      usage: db.prepare<[string], { model: string; purpose: string; calls: number; prompt_tokens: number; completion_tokens: number }>(
        'SELECT model, purpose, calls, prompt_tokens, completion_tokens FROM mem_model_usage WHERE tenant_id = ? ORDER BY model, purpose',
      ),
      setClusters: db.prepare(`UPDATE mem_memories SET clusters_json = ?, links_json = ? WHERE ${scoped} AND id = ?`),
      addSource: db.prepare(
        'INSERT OR IGNORE INTO mem_sources (tenant_id, user_id, message_id, memory_id) VALUES (?, ?, ?, ?)',
      ),
      deleteSources: db.prepare(`DELETE FROM mem_sources WHERE ${scoped} AND memory_id = ?`),
      addHistory: db.prepare(
        `INSERT OR IGNORE INTO mem_history (tenant_id, user_id, memory_id, version, type, recorded_at, status, text,
           valid_from, valid_to, reason, event_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      deleteHistory: db.prepare(`DELETE FROM mem_history WHERE ${scoped} AND memory_id = ?`),
      history: db.prepare<[string, string, string], HistoryRow>(
        `SELECT version, type, recorded_at, status, text, valid_from, valid_to, reason, event_id
         FROM mem_history WHERE ${scoped} AND memory_id = ? ORDER BY version`,
      ),
      putLesson: db.prepare(
        'INSERT OR REPLACE INTO mem_lessons (tenant_id, user_id, id, created_at, lesson_json) VALUES (?, ?, ?, ?, ?)',
      ),
      lessons: db.prepare<[string, string], { lesson_json: string }>(
        `SELECT lesson_json FROM mem_lessons WHERE ${scoped} ORDER BY created_at, id`,
      ),
      // Latest wins by system time; on a tie the later record in the log wins.
      putModel: db.prepare(
        `INSERT INTO mem_cluster_models (tenant_id, user_id, model_id, parameters, memory_count, recorded_at)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (tenant_id, user_id) DO UPDATE SET model_id = excluded.model_id, parameters = excluded.parameters,
           memory_count = excluded.memory_count, recorded_at = excluded.recorded_at
         WHERE excluded.recorded_at >= mem_cluster_models.recorded_at`,
      ),
      model: db.prepare<[string, string], { model_id: string; parameters: string; memory_count: number }>(
        `SELECT model_id, parameters, memory_count FROM mem_cluster_models WHERE ${scoped}`,
      ),
      factsAbout: db.prepare<[string, string, string, string], Row>(
        `SELECT ${ROW_COLUMNS} FROM mem_memories
         WHERE ${scoped} AND subject_key = ? AND predicate_key = ? AND status = 'active' ORDER BY recorded_at, id`,
      ),
      bySource: db.prepare<[string, string, string], Row>(
        `SELECT ${ROW_COLUMNS} FROM mem_memories m
         WHERE m.tenant_id = ? AND m.user_id = ? AND m.status <> 'forgotten' AND m.id IN (
           SELECT memory_id FROM mem_sources s WHERE s.tenant_id = m.tenant_id AND s.user_id = m.user_id
             AND s.message_id = ?)
         ORDER BY m.recorded_at, m.id`,
      ),
      invalidatedBy: db.prepare<[string, string, string], Row>(
        `SELECT ${ROW_COLUMNS} FROM mem_memories
         WHERE ${scoped} AND invalidated_by = ? AND status = 'invalidated' ORDER BY recorded_at, id`,
      ),
      byTextHash: db.prepare<[string, string, string], Row>(
        `SELECT ${ROW_COLUMNS} FROM mem_memories
         WHERE ${scoped} AND text_hash = ? AND status = 'active' ORDER BY recorded_at, id`,
      ),
      users: db.prepare<[string], { user_id: string }>(
        `SELECT DISTINCT user_id FROM mem_memories WHERE tenant_id = ? AND status <> 'forgotten' ORDER BY user_id`,
      ),
      countByStatus: db.prepare<[string, string], { status: MemoryStatus; n: number }>(
        `SELECT status, count(*) AS n FROM mem_memories WHERE ${scoped} GROUP BY status`,
      ),
      allRows: db.prepare<[], { tenant_id: string; user_id: string; id: string; live: number }>(
        `SELECT tenant_id, user_id, id, status <> 'forgotten' AND memory_json IS NOT NULL AS live FROM mem_memories`,
      ),
      countByKind: db.prepare<[string, string], { kind: MemoryKind; n: number }>(
        `SELECT kind, count(*) AS n FROM mem_memories WHERE ${scoped} AND kind IS NOT NULL GROUP BY kind`,
      ),
    };
  }

  // ------------------------------------------------------------------ write side

  /**
   * Starts a rebuild: the rows of the table (none, right after `clear`) are held in memory until
   * `endRebuild`, so that writes need no lookup to learn a memory is new. Only for the one
   * connection that writes this table, which a rebuild is.
   */
  beginRebuild(): void {
    const rows = new Map<string, boolean>();
    for (const r of this.run(() => this.s.allRows.all())) rows.set(rowKey(r.tenant_id, r.user_id, r.id), r.live === 1);
    this.rows = rows;
  }

  /** Ends a rebuild: writes look rows up again. */
  endRebuild(): void {
    this.rows = null;
  }

  /**
   * Applies memory events in one transaction, skipping records below the projector's checkpoint
   * and stale versions, and advances the checkpoint of each partition to the last offset + 1.
   */
  applyEvents(records: readonly PositionedMemoryEvent[], projector: string): ApplyResult {
    if (typeof projector !== 'string' || projector === '') throw new ValidationError('projector must be non-empty');
    let applied = 0;
    let skipped = 0;
    let erased = false;
    try {
      this.applyInTransaction(records, projector, (a, s, e) => {
        applied = a;
        skipped = s;
        erased = e;
      });
    } catch (err) {
      this.rows = null;
      throw err;
    }
    // Erasure: secure_delete zeroed the pages; checkpoint so no old page image survives in the WAL.
    if (erased) this.run(() => this.db.pragma('wal_checkpoint(TRUNCATE)'));
    return { applied, skipped };
  }

  private applyInTransaction(
    records: readonly PositionedMemoryEvent[],
    projector: string,
    done: (applied: number, skipped: number, erased: boolean) => void,
  ): void {
    let applied = 0;
    let skipped = 0;
    let erased = false;
    this.run(() =>
      this.db
        .transaction(() => {
          const next = new Map<string, { topic: string; partition: number; offset: number }>();
          for (const { event, position } of records) {
            const key = `${position.topic}\u0000${position.partition}`;
            const cp = next.get(key) ?? {
              topic: position.topic,
              partition: position.partition,
              offset: this.checkpoints.checkpointSync(projector, position.topic, position.partition),
            };
            if (position.offset < cp.offset) {
              skipped++;
              continue;
            }
            try {
              erased = this.applyOne(event) || erased;
            } catch (err) {
              if (err instanceof ValidationError) {
                throw new ValidationError(`memory event at ${position.topic}/${position.partition}@${position.offset}: ${err.message}`, {
                  ...err.details,
                  eventId: event?.eventId,
                  ...position,
                });
              }
              throw err;
            }
            applied++;
            cp.offset = position.offset + 1;
            next.set(key, cp);
          }
          for (const cp of next.values()) this.checkpoints.saveCheckpointSync(projector, cp.topic, cp.partition, cp.offset);
        })
        .immediate(),
    );
    done(applied, skipped, erased);
  }

  /** Applies one event; returns true when it erased a memory. */
  private applyOne(event: MemoryEvent): boolean {
    const scope = scopeOf(event.tenantId, event.userId);
    const p = event.payload;
    switch (p.type) {
      case 'MemoryAdded':
      case 'MemoryUpdated':
        this.putMemory(scope, event, p.memory, {
          status: 'active',
          reason: p.decision.reason,
          quarantineReasons: [],
          invalidatedBy: null,
          validTo: p.memory.validTo,
          supersededAt: p.memory.supersededAt,
        });
        return false;
      case 'MemoryQuarantined':
        this.putMemory(scope, event, p.memory, {
          status: 'quarantined',
          reason: p.reasons.join('; '),
          quarantineReasons: p.reasons,
          invalidatedBy: null,
          validTo: p.memory.validTo,
          supersededAt: p.memory.supersededAt,
        });
        return false;
      case 'MemoryInvalidated':
        this.changeLifecycle(scope, event, p.memoryId, p.version, (cur) => ({
          ...cur,
          status: 'invalidated',
          reason: p.reason,
          invalidatedBy: p.invalidatedBy,
          validTo: p.validTo,
          supersededAt: p.supersededAt,
        }));
        return false;
      case 'MemoryRestored':
        this.changeLifecycle(scope, event, p.memoryId, p.version, (cur) => ({
          ...cur,
          status: 'active',
          reason: p.reason,
          invalidatedBy: null,
          validTo: null,
          supersededAt: null,
        }));
        return false;
      case 'MemoryReleased':
        this.changeLifecycle(scope, event, p.memoryId, p.version, (cur) => ({
          ...cur,
          status: p.approved ? 'active' : 'rejected',
          reason: p.reason,
          // A rejected memory keeps the reasons it was held for; an approved one is clean.
          quarantineReasons: p.approved ? [] : cur.quarantineReasons,
        }));
        return false;
      case 'MemoryForgotten':
        this.erase(scope, p.memoryId, p.version);
        return true;
      case 'MemoryReinforced': {
        const row = this.liveRow(scope, p.memoryId);
        if (row === null) return false;
        const memory: Memory = { ...parseMemoryJson(row.memory_json), strength: p.strength };
        this.s.reinforce.run(memoryJson(memory), event.recordedAt, scope.tenantId, scope.userId, p.memoryId);
        return false;
      }
      case 'MemoryAccessed':
        for (const id of new Set(p.memoryIds)) this.s.access.run(p.accessedAt, scope.tenantId, scope.userId, id);
        return false;
      case 'MemoryArchived':
        this.changeLifecycle(scope, event, p.memoryId, p.version, (cur) => ({ ...cur, status: 'archived', reason: p.reason }));
        return false;
      case 'ModelCalled':
        this.s.addUsage.run(scope.tenantId, p.model, p.purpose, p.promptTokens, p.completionTokens);
        return false;
      case 'ClusterAssigned': {
        const live = this.rows === null ? this.s.isLive.get(scope.tenantId, scope.userId, p.memoryId) !== undefined : this.rows.get(rowKey(scope.tenantId, scope.userId, p.memoryId)) === true;
        if (!live) return false;
        const clusters = p.responsibilities.map(({ component, weight }) => ({ component, weight }));
        const links = p.links.map(({ memoryId, weight }) => ({ memoryId, weight }));
        this.s.setClusters.run(JSON.stringify(clusters), JSON.stringify(links), scope.tenantId, scope.userId, p.memoryId);
        return false;
      }
      case 'ClusterModelFitted':
        this.s.putModel.run(scope.tenantId, scope.userId, p.modelId, p.parameters, p.memoryCount, event.recordedAt);
        return false;
      case 'LessonRecorded':
        this.s.putLesson.run(scope.tenantId, scope.userId, p.lesson.id, p.lesson.createdAt, JSON.stringify(p.lesson));
        return false;
      default: {
        // Exhaustiveness: a new payload type must be handled here before it can be projected.
        const unknown: never = p;
        throw new ValidationError(`unknown memory event type ${(unknown as { type: string }).type}`);
      }
    }
  }

  /** Stores a full memory version (Added, Updated, Quarantined) when it is newer than the stored one. */
  private putMemory(scope: Scope, event: MemoryEvent, memory: Memory, lc: Lifecycle): void {
    assertVersion(memory.version);
    if (typeof memory.id !== 'string' || memory.id === '') throw new ValidationError('memory id must be non-empty');
    if (memory.tenantId !== scope.tenantId || memory.userId !== scope.userId) {
      throw new ValidationError(`memory ${memory.id} belongs to ${memory.tenantId}/${memory.userId}, not to the event's scope`);
    }
    const row = this.versionRow(scope, memory.id);
    // A tombstone absorbs every later event: an erased memory never comes back from a redelivery.
    if (row !== undefined && (row.status === 'forgotten' || row.version >= memory.version)) return;
    const stored: Memory = { ...memory, validTo: lc.validTo, supersededAt: lc.supersededAt };
    this.s.putRow.run(
      scope.tenantId,
      scope.userId,
      memory.id,
      lc.status,
      memory.version,
      memory.kind,
      textHashOf(memory.text),
      memory.triple === null ? null : tripleKey(memory.triple.subject),
      memory.triple === null ? null : tripleKey(memory.triple.predicate),
      lc.invalidatedBy,
      memory.recordedAt,
      memoryJson(stored),
      encodeEmbeddingBlob(memory.embedding),
      JSON.stringify(lc.quarantineReasons),
      lc.reason,
      // Cluster assignments survive a new version until a ClusterAssigned replaces them.
      row?.clusters_json ?? '[]',
      row?.links_json ?? '[]',
      // A new version is learnt again: the forgetting clock restarts; retrievals so far still count.
      row?.accesses ?? 0,
      Math.max(row?.last_touched_at ?? 0, memory.recordedAt),
    );
    this.rows?.set(rowKey(scope.tenantId, scope.userId, memory.id), true);
    // Sources accumulate over versions, so erasing a message finds every memory it ever fed.
    for (const source of memory.sources) {
      this.s.addSource.run(scope.tenantId, scope.userId, source.messageId, memory.id);
    }
    this.addHistory(scope, event, stored, lc);
  }

  /** Applies a lifecycle-only versioned event (Invalidated, Restored, Released) when it is newer. */
  private changeLifecycle(
    scope: Scope,
    event: MemoryEvent,
    id: string,
    version: number,
    change: (current: Lifecycle) => Lifecycle,
  ): void {
    assertVersion(version);
    const row = this.liveRow(scope, id);
    if (row === null || row.version >= version) return;
    const memory = parseMemoryJson(row.memory_json);
    const lc = change({
      status: row.status,
      reason: row.decision_reason,
      quarantineReasons: JSON.parse(row.quarantine_reasons) as string[],
      invalidatedBy: row.invalidated_by,
      validTo: memory.validTo,
      supersededAt: memory.supersededAt,
    });
    const stored: Memory = { ...memory, version, validTo: lc.validTo, supersededAt: lc.supersededAt };
    this.s.setLifecycle.run(
      lc.status,
      version,
      memoryJson(stored),
      lc.invalidatedBy,
      lc.reason,
      JSON.stringify(lc.quarantineReasons),
      scope.tenantId,
      scope.userId,
      id,
    );
    this.addHistory(scope, event, stored, lc);
  }

  private addHistory(scope: Scope, event: MemoryEvent, memory: Memory, lc: Lifecycle): void {
    this.s.addHistory.run(
      scope.tenantId,
      scope.userId,
      memory.id,
      memory.version,
      event.payload.type,
      event.recordedAt,
      lc.status,
      memory.text,
      memory.validFrom,
      memory.validTo,
      lc.reason,
      event.eventId,
    );
  }

  /**
   * Right to erasure: removes the memory's content, history and source links, keeping only a
   * tombstone (id, status `forgotten`, version) so that later events for it are ignored. Applied
   * whatever the version: erasure is never stale.
   */
  private erase(scope: Scope, id: string, version: number): void {
    if (typeof id !== 'string' || id === '') throw new ValidationError('memory id must be non-empty');
    const row = this.versionRow(scope, id);
    this.s.deleteHistory.run(scope.tenantId, scope.userId, id);
    this.s.deleteSources.run(scope.tenantId, scope.userId, id);
    const tombstoneVersion = Math.max(row?.version ?? 0, Number.isSafeInteger(version) ? version : 0);
    this.s.putRow.run(scope.tenantId, scope.userId, id, 'forgotten', tombstoneVersion, null, null, null, null, null, null, null, null, '[]', '', '[]', '[]', 0, null);
    this.rows?.set(rowKey(scope.tenantId, scope.userId, id), false);
  }

  /** What a new version keeps of the stored row; no lookup for a memory a rebuild has not written yet. */
  private versionRow(scope: Scope, id: string): VersionRow | undefined {
    if (this.rows !== null && !this.rows.has(rowKey(scope.tenantId, scope.userId, id))) return undefined;
    return this.s.versionRow.get(scope.tenantId, scope.userId, id);
  }

  /** The stored row (but its embedding) of a memory that exists and is not erased, else null. */
  private liveRow(scope: Scope, id: string): WriteRow | null {
    if (this.rows !== null && this.rows.get(rowKey(scope.tenantId, scope.userId, id)) !== true) return null;
    const row = this.s.writeRow.get(scope.tenantId, scope.userId, id);
    return row === undefined || row.status === 'forgotten' || row.memory_json === null ? null : row;
  }

  /** Deletes every memory, history row, lesson and cluster model (before a replay); when a
   * projector is named, its checkpoints are reset in the same transaction so it replays from 0. */
  clear(projector?: string): void {
    this.run(() =>
      this.db
        .transaction(() => {
          for (const table of ['mem_memories', 'mem_sources', 'mem_history', 'mem_lessons', 'mem_cluster_models', 'mem_model_usage']) {
            this.db.prepare(`DELETE FROM ${table}`).run();
          }
          if (projector !== undefined) this.checkpoints.resetSync(projector);
        })
        .immediate(),
    );
    // A rebuild under way goes on over the empty table.
    if (this.rows !== null) this.rows = new Map();
  }

  // ------------------------------------------------------------------ read side

  /** The current state of a memory, or null when unknown or erased. */
  async get(scope: Scope, id: string): Promise<MemoryState | null> {
    const s = checkedScope(scope);
    const row = this.run(() => this.s.row.get(s.tenantId, s.userId, id));
    return row === undefined ? null : toState(row);
  }

  /** The states of the known, non-erased ids, in the order asked. */
  async getMany(scope: Scope, ids: readonly string[]): Promise<MemoryState[]> {
    const s = checkedScope(scope);
    if (ids.length === 0) return [];
    const rows = this.run(
      () =>
        this.statement(
          `SELECT ${ROW_COLUMNS} FROM mem_memories
           WHERE tenant_id = ? AND user_id = ? AND id IN (SELECT value FROM json_each(?))`,
        ).all(s.tenantId, s.userId, JSON.stringify(ids)) as Row[],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    const out: MemoryState[] = [];
    for (const id of new Set(ids)) {
      const row = byId.get(id);
      const state = row === undefined ? null : toState(row);
      if (state !== null) out.push(state);
    }
    return out;
  }

  /** Version history of a memory, oldest first (empty once erased). */
  async history(scope: Scope, id: string): Promise<MemoryVersion[]> {
    const s = checkedScope(scope);
    return this.run(() => this.s.history.all(s.tenantId, s.userId, id)).map((r) => ({
      version: r.version,
      type: r.type,
      recordedAt: r.recorded_at,
      status: r.status,
      text: r.text,
      validFrom: r.valid_from,
      validTo: r.valid_to,
      reason: r.reason,
      eventId: r.event_id,
    }));
  }

  /** Memories of a user, newest recorded first; all statuses and kinds unless filtered. */
  async list(scope: Scope, opts: ListOptions = {}): Promise<MemoryState[]> {
    const s = checkedScope(scope);
    const where = ["tenant_id = ?", "user_id = ?", "status <> 'forgotten'"];
    const params: unknown[] = [s.tenantId, s.userId];
    if (opts.statuses !== undefined) {
      for (const st of opts.statuses) assertOneOf('status', st, MEMORY_STATUSES);
      where.push('status IN (SELECT value FROM json_each(?))');
      params.push(JSON.stringify(opts.statuses));
    }
    if (opts.kinds !== undefined) {
      for (const k of opts.kinds) assertOneOf('kind', k, MEMORY_KINDS);
      where.push('kind IN (SELECT value FROM json_each(?))');
      params.push(JSON.stringify(opts.kinds));
    }
    const limit = opts.limit === undefined ? -1 : Math.max(0, Math.floor(opts.limit));
    const sql = `SELECT ${ROW_COLUMNS} FROM mem_memories WHERE ${where.join(' AND ')}
                 ORDER BY recorded_at DESC, id LIMIT ?`;
    return this.states(this.run(() => this.statement(sql).all(...params, limit) as Row[]));
  }

  /** Active memories whose triple has this subject and predicate (case-insensitive). */
  async factsAbout(scope: Scope, subject: string, predicate: string): Promise<MemoryState[]> {
    const s = checkedScope(scope);
    return this.states(this.run(() => this.s.factsAbout.all(s.tenantId, s.userId, tripleKey(subject), tripleKey(predicate))));
  }

  /** Memories any version of which came from this message (all statuses except erased). */
  async bySourceMessage(scope: Scope, messageId: string): Promise<MemoryState[]> {
    const s = checkedScope(scope);
    return this.states(this.run(() => this.s.bySource.all(s.tenantId, s.userId, messageId)));
  }

  /** Memories currently invalidated by `memoryId`. */
  async invalidatedBy(scope: Scope, memoryId: string): Promise<MemoryState[]> {
    const s = checkedScope(scope);
    return this.states(this.run(() => this.s.invalidatedBy.all(s.tenantId, s.userId, memoryId)));
  }

  /** Active memories whose `textHashOf(text)` equals `textHash`. */
  async byTextHash(scope: Scope, textHash: string): Promise<MemoryState[]> {
    const s = checkedScope(scope);
    return this.states(this.run(() => this.s.byTextHash.all(s.tenantId, s.userId, textHash)));
  }

  /** Lessons of a user, oldest first. */
  async lessons(scope: Scope): Promise<Lesson[]> {
    const s = checkedScope(scope);
    return this.run(() => this.s.lessons.all(s.tenantId, s.userId)).map((r) => JSON.parse(r.lesson_json) as Lesson);
  }

  /** The latest fitted cluster model of a user. */
  async clusterModel(scope: Scope): Promise<{ modelId: string; parameters: string; memoryCount: number } | null> {
    const s = checkedScope(scope);
    const row = this.run(() => this.s.model.get(s.tenantId, s.userId));
    return row === undefined ? null : { modelId: row.model_id, parameters: row.parameters, memoryCount: row.memory_count };
  }

  /** Users of a tenant that have at least one memory that is not erased, sorted. */
  async users(tenantId: string): Promise<string[]> {
    assertScopeId('tenant', tenantId);
    return this.run(() => this.s.users.all(tenantId)).map((r) => r.user_id);
  }

  /** Language-model tokens metered for a tenant, per model and purpose. */
  async modelUsage(tenantId: string): Promise<ModelUsageTotal[]> {
    assertScopeId('tenant', tenantId);
    return this.run(() => this.s.usage.all(tenantId)).map((r) => ({
      model: r.model,
      purpose: r.purpose,
      calls: r.calls,
      promptTokens: r.prompt_tokens,
      completionTokens: r.completion_tokens,
    }));
  }

  /** Counts of a user's memories by status and kind. */
  async stats(scope: Scope): Promise<MemoryStats> {
    const s = checkedScope(scope);
    const byStatus = Object.fromEntries(MEMORY_STATUSES.map((st) => [st, 0])) as Record<MemoryStatus, number>;
    const byKind = Object.fromEntries(MEMORY_KINDS.map((k) => [k, 0])) as Record<MemoryKind, number>;
    let total = 0;
    this.run(() => {
      for (const r of this.s.countByStatus.all(s.tenantId, s.userId)) {
        byStatus[r.status] = r.n;
        total += r.n;
      }
      for (const r of this.s.countByKind.all(s.tenantId, s.userId)) byKind[r.kind] = r.n;
    });
    return { total, byStatus, byKind };
  }

  private states(rows: readonly Row[]): MemoryState[] {
    const out: MemoryState[] = [];
    for (const row of rows) {
      const state = toState(row);
      if (state !== null) out.push(state);
    }
    return out;
  }

  private statement(sql: string): Statement {
    let stmt = this.dynamic.get(sql);
    if (stmt === undefined) {
      stmt = this.db.prepare(sql);
      this.dynamic.set(sql, stmt);
    }
    return stmt;
  }

  private run<T>(fn: () => T): T {
    try {
      return fn();
    } catch (cause) {
      throw sqliteError(cause, this.path);
    }
  }
}

/** The in-memory key of a memory row. */
function rowKey(tenantId: string, userId: string, id: string): string {
  return `${tenantId}\u0000${userId}\u0000${id}`;
}

function checkedScope(scope: Scope): Scope {
  return scopeOf(scope?.tenantId, scope?.userId);
}

function assertVersion(version: number): void {
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new ValidationError(`version must be a positive integer, got ${version}`, { field: 'version' });
  }
}

function assertOneOf(field: string, value: unknown, allowed: readonly string[]): void {
  if (typeof value !== 'string' || !allowed.includes(value)) {
    throw new ValidationError(`${field} must be one of ${allowed.join(', ')}, got ${String(value)}`, { field });
  }
}

/** The memory as JSON without its embedding (kept as an exact Float64 blob beside it). */
function memoryJson(memory: Memory): string {
  return JSON.stringify({ ...memory, embedding: [] });
}

function parseMemoryJson(json: string | null): Memory {
  if (json === null) throw new ValidationError('memory has been erased');
  return JSON.parse(json) as Memory;
}

/** The read model of a row; null for a tombstone. */
function toState(row: Row): MemoryState | null {
  if (row.status === 'forgotten' || row.memory_json === null) return null;
  // Spreading keeps `embedding` at its original key position.
  const memory: Memory = { ...(JSON.parse(row.memory_json) as Memory), embedding: decodeEmbeddingBlob(row.embedding) };
  return {
    memory,
    status: row.status,
    version: row.version,
    quarantineReasons: JSON.parse(row.quarantine_reasons) as string[],
    decisionReason: row.decision_reason,
    invalidatedBy: row.invalidated_by,
    clusters: JSON.parse(row.clusters_json) as { component: number; weight: number }[],
    links: JSON.parse(row.links_json) as AssociationLink[],
    accesses: row.accesses,
    lastTouchedAt: row.last_touched_at ?? memory.recordedAt,
  };
}
