/**
 * The embedded VectorIndex: dense KNN with sqlite-vec (cosine, metadata filters inside the vec0
 * query, one partition per tenant/user) and keyword search with FTS5 (BM25), in `memory.db`.
 * Scoping is absolute: every query is constrained to one `scopeKey`, and ids are keyed per scope,
 * so one scope can neither read nor overwrite another's documents.
 */
import type { Statement } from 'better-sqlite3';
import { ValidationError } from '../../core/errors.js';
import { GRANULARITIES, MEMORY_KINDS, MEMORY_STATUSES } from '../../core/model.js';
import type { MemoryStatus } from '../../core/model.js';
import type { ScoredId, SearchFilter, VectorDoc, VectorIndex, VectorWrite } from '../../core/ports.js';
import { assertScopeId, scopeKey } from '../../core/scope.js';
import type { Scope } from '../../core/scope.js';
import { sqliteError } from '../sqlite/open.js';
import type { Db } from '../sqlite/open.js';
import { assertOneOf, assertTime, assertVector, checkedInstant, clampK, validateDoc } from '../vector-checks.js';
import { createVectorTables, dropVectorTables } from './memory-db.js';
import type { MemoryDb } from './memory-db.js';

/** Stored for an open-ended `validTo` / `supersededAt`, so that `> t` holds for every real time. */
export const FAR_FUTURE = Number.MAX_SAFE_INTEGER;

/** At most this many query tokens reach FTS5: bounds the cost of a hostile, very long query. */
const MAX_QUERY_TOKENS = 64;

/**
 * Turns arbitrary user text into a safe FTS5 query: each word becomes a quoted string (quotes
 * cannot occur inside, since tokens are letters, digits and marks only) and words are OR-ed, so
 * no user input is ever parsed as FTS5 syntax. Returns null when the text has no words.
 */
export function toFtsQuery(text: string): string | null {
  const seen = new Set<string>();
  for (const match of text.normalize('NFKC').matchAll(/[\p{L}\p{N}\p{M}]+/gu)) {
    seen.add(match[0].toLowerCase());
    if (seen.size >= MAX_QUERY_TOKENS) break;
  }
  if (seen.size === 0) return null;
  return [...seen].map((t) => `"${t}"`).join(' OR ');
}

interface DocRow {
  doc_id: number;
  memory_id: string;
}

/** A SQL fragment with its parameters, for the metadata part of a search. */
interface Clause {
  readonly sql: string;
  readonly params: unknown[];
}

export type { VectorWrite };

/** SqliteVectorIndex implements VectorIndex over sqlite-vec and FTS5 in `memory.db`. */
export class SqliteVectorIndex implements VectorIndex {
  private readonly db: Db;
  private readonly path: string;
  readonly dimensions: number;
  private stmts!: ReturnType<SqliteVectorIndex['prepare']>;
  /** Search statements differ by the shape of the filter; cached by SQL text. */
  private readonly searchCache = new Map<string, Statement>();

  constructor(memoryDb: MemoryDb) {
    this.db = memoryDb.db;
    this.path = memoryDb.path;
    this.dimensions = memoryDb.dimensions;
    this.stmts = this.prepare();
  }

  private prepare() {
    const db = this.db;
    return {
      findDoc: db.prepare<[string, string], DocRow>('SELECT doc_id, memory_id FROM vec_docs WHERE scope = ? AND memory_id = ?'),
      insertDoc: db.prepare(
        `INSERT INTO vec_docs(scope, memory_id, kind, granularity, status, valid_from, valid_to, recorded_at, superseded_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      updateDoc: db.prepare(
        `UPDATE vec_docs SET kind = ?, granularity = ?, status = ?, valid_from = ?, valid_to = ?, recorded_at = ?,
         superseded_at = ? WHERE doc_id = ?`,
      ),
      setDocStatus: db.prepare('UPDATE vec_docs SET status = ?, valid_to = ?, superseded_at = ? WHERE doc_id = ?'),
      deleteDoc: db.prepare('DELETE FROM vec_docs WHERE doc_id = ?'),
      insertVec: db.prepare(
        `INSERT INTO vec_memories(rowid, scope, embedding, kind, granularity, status, valid_from, valid_to, recorded_at,
         superseded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      updateVec: db.prepare(
        `UPDATE vec_memories SET embedding = ?, kind = ?, granularity = ?, status = ?, valid_from = ?, valid_to = ?,
         recorded_at = ?, superseded_at = ? WHERE rowid = ?`,
      ),
      setVecStatus: db.prepare('UPDATE vec_memories SET status = ?, valid_to = ?, superseded_at = ? WHERE rowid = ?'),
      deleteVec: db.prepare('DELETE FROM vec_memories WHERE rowid = ?'),
      getText: db.prepare<[bigint], { text: string }>('SELECT text FROM fts_memories WHERE rowid = ?'),
      insertText: db.prepare('INSERT INTO fts_memories(rowid, text, scope) VALUES (?, ?, ?)'),
      deleteText: db.prepare('DELETE FROM fts_memories WHERE rowid = ?'),
    };
  }

  /** Inserts or replaces documents (embedding, text and metadata), all in one transaction. */
  async upsert(scope: Scope, docs: readonly VectorDoc[]): Promise<void> {
    const key = checkedScopeKey(scope);
    for (const doc of docs) validateDoc(doc, this.dimensions);
    this.run(() =>
      this.db.transaction(() => {
        for (const doc of docs) this.upsertOne(key, doc);
      })(),
    );
  }

  private upsertOne(key: string, doc: VectorDoc): void {
    const s = this.stmts;
    const meta = [
      doc.kind,
      doc.granularity,
      doc.status,
      BigInt(doc.validFrom),
      BigInt(doc.validTo ?? FAR_FUTURE),
      BigInt(doc.recordedAt),
      BigInt(doc.supersededAt ?? FAR_FUTURE),
    ] as const;
    const vector = new Float32Array(doc.embedding);
    const existing = s.findDoc.get(key, doc.id);
    if (existing === undefined) {
      const docId = BigInt(s.insertDoc.run(key, doc.id, ...meta).lastInsertRowid);
      s.insertVec.run(docId, key, vector, ...meta);
      s.insertText.run(docId, doc.text, key);
      return;
    }
    const docId = BigInt(existing.doc_id);
    s.updateDoc.run(...meta, docId);
    // vec0 updates in place (a delete + insert would leave a hole in its chunk).
    s.updateVec.run(vector, ...meta, docId);
    // Re-tokenise only when the text changed.
    if (s.getText.get(docId)?.text !== doc.text) {
      s.deleteText.run(docId);
      s.insertText.run(docId, doc.text, key);
    }
  }

  /** Deletes documents from every table (vectors, text, mapping). Unknown ids are ignored. */
  async remove(scope: Scope, ids: readonly string[]): Promise<void> {
    const key = checkedScopeKey(scope);
    let removed = 0;
    this.run(() =>
      this.db.transaction(() => {
        for (const id of ids) removed += this.removeOne(key, id);
      })(),
    );
    // Removal is erasure: move the zeroed pages out of the WAL so no old page image keeps the text.
    if (removed > 0) this.run(() => this.db.pragma('wal_checkpoint(TRUNCATE)'));
  }

  private removeOne(key: string, id: string): number {
    const s = this.stmts;
    const doc = s.findDoc.get(key, id);
    if (doc === undefined) return 0;
    const docId = BigInt(doc.doc_id);
    s.deleteVec.run(docId);
    s.deleteText.run(docId);
    s.deleteDoc.run(docId);
    return 1;
  }

  /**
   * Applies a projector batch in order, in one transaction (one commit instead of one per event),
   * with the same checks and effects as the port methods one by one.
   */
  applyWrites(writes: readonly VectorWrite[]): void {
    const prepared = writes.map((w) => {
      const key = checkedScopeKey(w.scope);
      if (w.op === 'upsert') validateDoc(w.doc, this.dimensions);
      else if (w.op === 'status') {
        assertOneOf('status', w.status, MEMORY_STATUSES);
        assertTime('validTo', w.validTo);
        assertTime('supersededAt', w.supersededAt);
      }
      return { key, w };
    });
    let removed = 0;
    this.run(() =>
      this.db.transaction(() => {
        for (const { key, w } of prepared) {
          if (w.op === 'upsert') this.upsertOne(key, w.doc);
          else if (w.op === 'status') this.setStatusOne(key, w.id, w.status, w.validTo, w.supersededAt);
          else removed += this.removeOne(key, w.id);
        }
      })(),
    );
    if (removed > 0) this.run(() => this.db.pragma('wal_checkpoint(TRUNCATE)'));
  }

  /** Changes status and validity of an indexed document; a no-op when it is absent. */
  async setStatus(
    scope: Scope,
    id: string,
    status: MemoryStatus,
    validTo: number | null,
    supersededAt: number | null,
  ): Promise<void> {
    const key = checkedScopeKey(scope);
    assertOneOf('status', status, MEMORY_STATUSES);
    assertTime('validTo', validTo);
    assertTime('supersededAt', supersededAt);
    this.run(() => this.db.transaction(() => this.setStatusOne(key, id, status, validTo, supersededAt))());
  }

  private setStatusOne(key: string, id: string, status: MemoryStatus, validTo: number | null, supersededAt: number | null): void {
    const s = this.stmts;
    const doc = s.findDoc.get(key, id);
    if (doc === undefined) return;
    const docId = BigInt(doc.doc_id);
    const to = BigInt(validTo ?? FAR_FUTURE);
    const sup = BigInt(supersededAt ?? FAR_FUTURE);
    s.setDocStatus.run(status, to, sup, docId);
    s.setVecStatus.run(status, to, sup, docId);
  }

  /** Nearest neighbours by cosine similarity (score = 1 - cosine distance), filters inside the KNN. */
  async searchDense(scope: Scope, vector: readonly number[], k: number, filter?: SearchFilter): Promise<ScoredId[]> {
    const key = checkedScopeKey(scope);
    assertVector(vector, this.dimensions);
    const limit = clampK(k);
    const where = metadataClause(filter, '');
    if (limit === 0 || where === null) return [];
    const sql =
      `SELECT d.memory_id AS id, v.distance AS distance
       FROM (SELECT rowid, distance FROM vec_memories
             WHERE embedding MATCH ? AND k = ? AND scope = ?${where.sql}) AS v
       JOIN vec_docs d ON d.doc_id = v.rowid
       WHERE d.scope = ?
       ORDER BY v.distance, d.memory_id`;
    const rows = this.run(
      () =>
        this.statement(sql).all(new Float32Array(vector), limit, key, ...where.params, key) as {
          id: string;
          distance: number | null;
        }[],
    );
    // A zero vector has no cosine distance (NULL): it is similar to nothing.
    return rows.filter((r) => r.distance !== null).map((r) => ({ id: r.id, score: 1 - (r.distance as number) }));
  }

  /** Keyword search with BM25 (score = -bm25, higher is better); the query text is never FTS5 syntax. */
  async searchText(scope: Scope, query: string, k: number, filter?: SearchFilter): Promise<ScoredId[]> {
    const key = checkedScopeKey(scope);
    if (typeof query !== 'string') throw new ValidationError('query must be a string', { field: 'query' });
    const match = toFtsQuery(query);
    const limit = Number.isFinite(k) ? Math.max(0, Math.floor(k)) : 0;
    const where = metadataClause(filter, 'd.');
    if (match === null || limit === 0 || where === null) return [];
    // The scope is checked on vec_docs, the mapping every FTS row joins (rowid = doc_id, written
    // with the same scope): reading FTS5's unindexed scope column too would cost a content-table
    // lookup per matching row, most of the query when a word matches much of the index.
    const sql =
      `SELECT d.memory_id AS id, -bm25(fts_memories) AS score
       FROM fts_memories JOIN vec_docs d ON d.doc_id = fts_memories.rowid
       WHERE fts_memories MATCH ? AND d.scope = ?${where.sql}
       ORDER BY bm25(fts_memories), d.memory_id
       LIMIT ?`;
    return this.run(() => this.statement(sql).all(match, key, ...where.params, limit) as ScoredId[]);
  }

  /**
   * How many documents of a scope pass `filter`, counting no further than `limit` (an index walk
   * that stops early, instead of a KNN over every vector). Counts zero vectors too, which a KNN
   * leaves out.
   */
  async countAtMost(scope: Scope, limit: number, filter?: SearchFilter): Promise<number> {
    const key = checkedScopeKey(scope);
    const where = metadataClause(filter, '');
    const cap = Number.isFinite(limit) ? Math.max(0, Math.floor(limit)) : 0;
    if (cap === 0 || where === null) return 0;
    const sql = `SELECT count(*) AS n FROM (SELECT 1 FROM vec_docs WHERE scope = ?${where.sql} LIMIT ?)`;
    return this.run(() => (this.statement(sql).get(key, ...where.params, cap) as { n: number }).n);
  }

  /** Deletes every document of every scope (before a replay rebuilds the index). */
  async clear(): Promise<void> {
    this.run(() =>
      this.db.transaction(() => {
        // Dropping the virtual tables frees their chunks; DELETE would leave them allocated.
        dropVectorTables(this.db);
        this.db.prepare('DELETE FROM vec_docs').run();
        createVectorTables(this.db, this.dimensions);
      })(),
    );
    // Statements over the dropped tables are invalid now.
    this.searchCache.clear();
    this.stmts = this.prepare();
  }

  /** Number of indexed documents of a scope (for stats and tests). */
  async count(scope: Scope): Promise<number> {
    const key = checkedScopeKey(scope);
    return this.run(
      () => (this.statement('SELECT count(*) AS n FROM vec_docs WHERE scope = ?').get(key) as { n: number }).n,
    );
  }

  private statement(sql: string): Statement {
    let stmt = this.searchCache.get(sql);
    if (stmt === undefined) {
      stmt = this.db.prepare(sql);
      this.searchCache.set(sql, stmt);
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

/** Validates a scope and returns its partition key. */
function checkedScopeKey(scope: Scope): string {
  assertScopeId('tenant', scope?.tenantId);
  assertScopeId('user', scope?.userId);
  return scopeKey(scope);
}

/**
 * The metadata filter as SQL over columns with `prefix` (the same names in vec0 and vec_docs).
 * Returns null when the filter can match nothing (an empty list). Values are bound, never inlined.
 */
function metadataClause(filter: SearchFilter | undefined, prefix: string): Clause | null {
  const parts: string[] = [];
  const params: unknown[] = [];
  const inList = (column: string, values: readonly string[], allowed: readonly string[]): boolean => {
    for (const v of values) assertOneOf(column, v, allowed);
    const unique = [...new Set(values)];
    if (unique.length === 0) return false;
    parts.push(`${prefix}${column} IN (${unique.map(() => '?').join(', ')})`);
    params.push(...unique);
    return true;
  };
  if (!inList('status', filter?.statuses ?? ['active'], MEMORY_STATUSES)) return null;
  if (filter?.kinds !== undefined && !inList('kind', filter.kinds, MEMORY_KINDS)) return null;
  if (filter?.granularities !== undefined && !inList('granularity', filter.granularities, GRANULARITIES)) return null;
  // Columns are integers, so `x <= t` is `x <= floor(t)` and `x > t` is `x > floor(t)`.
  if (filter?.validAt !== undefined) {
    const t = BigInt(Math.floor(checkedInstant('validAt', filter.validAt)));
    parts.push(`${prefix}valid_from <= ?`, `${prefix}valid_to > ?`);
    params.push(t, t);
  }
  if (filter?.knownAt !== undefined) {
    const t = BigInt(Math.floor(checkedInstant('knownAt', filter.knownAt)));
    parts.push(`${prefix}recorded_at <= ?`, `${prefix}superseded_at > ?`);
    params.push(t, t);
  }
  return { sql: parts.map((p) => ` AND ${p}`).join(''), params };
}
