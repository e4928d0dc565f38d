/**
 * The embedded VectorIndex: dense KNN with sqlite-vec (cosine, metadata filters inside the vec0
 * query, one partition per tenant/user) and keyword search with FTS5 (BM25), in `memory.db`.
 * Scoping is absolute: every query is constrained to one `scopeKey`, and ids are keyed per scope,
 * so one scope can neither read nor overwrite another's documents.
 *
 * Large histories take faster paths. Dense: sign-bit codes of every document, kept in memory per
 * scope (code-cache.ts), rank candidates by Hamming distance, and the best few times k are
 * rescored exactly with sqlite-vec. Keyword: an in-memory inverted index of the scope's texts
 * (keyword-cache.ts) scores FTS5's BM25 without FTS5's cost of scoring every matching row. Smaller
 * scopes search FTS5, which intersects the words with the scope's and granularity's tags inside its
 * doclists. Both leave out words in at least half of all rows, whose BM25 weight is ~0 anyway.
 */
import type { Statement } from 'better-sqlite3';
import { ValidationError } from '../../core/errors.js';
import { GRANULARITIES, MEMORY_KINDS, MEMORY_STATUSES } from '../../core/model.js';
import type { Granularity, MemoryStatus } from '../../core/model.js';
import type { ScoredId, SearchFilter, VectorDoc, VectorIndex, VectorWrite } from '../../core/ports.js';
import { assertScopeId, scopeKey } from '../../core/scope.js';
import type { Scope } from '../../core/scope.js';
import { sqliteError } from '../sqlite/open.js';
import type { Db } from '../sqlite/open.js';
import { assertOneOf, assertTime, assertVector, checkedInstant, clampK, validateDoc } from '../vector-checks.js';
import { codeBytes, signCode } from './binary-codes.js';
import { ScopeCodes, type CodeMeta, type CodeRow } from './code-cache.js';
import { ftsTags, ftsTerms, scopedFtsMatch } from './fts-query.js';
import { ScopeKeywords, type KeywordRow } from './keyword-cache.js';
import { RescoreThread, type Rescored } from './rescore-thread.js';
import { createVectorTables, dropVectorTables } from './memory-db.js';
import type { MemoryDb } from './memory-db.js';

export { toFtsQuery } from './fts-query.js';

/** Stored for an open-ended `validTo` / `supersededAt`, so that `> t` holds for every real time. */
export const FAR_FUTURE = Number.MAX_SAFE_INTEGER;

/**
 * Scopes of at most this many documents are searched exactly by sqlite-vec; above it the binary
 * first pass wins (the exact scan costs ~0.3 µs per document of the scope, whatever the filter:
 * vec0 scans the scope's partition and tests the metadata per row; an exact rescore costs a few µs).
 */
export const EXACT_SEARCH_MAX = 4096;

/** Candidates the Hamming pass hands to the 8-bit re-rank: k × this. */
export const HAMMING_FACTOR = 30;

/**
 * Candidates the 8-bit re-rank hands to exact rescoring: k × this. The 8-bit ranking is close to
 * the exact one (its top k alone holds about 99 % of what the exact top k of its candidates does),
 * so few need their float vectors read (docs/performance.md).
 */
export const RESCORE_FACTOR = 2;

/** Below this many rows keyword search matches every word of the query (scoring them all is cheap). */
export const PRUNE_MIN_ROWS = 10_000;

/**
 * Scopes holding at least this many documents are searched by keyword in memory (keyword-cache.ts):
 * FTS5 scores every row that contains a query word, which grows with the history.
 */
export const KEYWORD_CACHE_MIN = 4096;

const GRANULARITY_INDEX = new Map<string, number>(GRANULARITIES.map((g, i) => [g, i]));

/** Documents whose texts the in-memory keyword index may hold across scopes (~300 bytes each). */
const KEYWORD_CACHE_MAX_DOCS = 250_000;

/**
 * Bytes the in-memory copies of codes may hold across scopes (about 110 bytes a document, 630 with
 * its 8-bit vector), least recently searched dropped first: about 200k documents of large scopes.
 */
const CODE_CACHE_MAX_BYTES = 128 * 1024 * 1024;

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

/** Thresholds of the fast paths (defaults above; tests lower them to exercise the paths on small data). */
export interface VectorIndexTuning {
  readonly exactSearchMax?: number;
  readonly hammingFactor?: number;
  readonly rescoreFactor?: number;
  readonly pruneMinRows?: number;
  readonly keywordCacheMin?: number;
  /**
   * Rescore dense candidates in a worker thread (rescore-thread.ts): true for one over this file, or
   * a given one; off by default, on in the embedded profile.
   */
  readonly rescoreThread?: boolean | RescoreThread;
}

/** A change to the in-memory codes, applied once the transaction that made it has committed. */
type CodeOp =
  | {
      readonly op: 'put';
      readonly docId: number;
      readonly code: Uint32Array;
      readonly vector: Float32Array;
      readonly meta: CodeMeta;
      /** The memory id and, when it changed, the text (for the keyword index). */
      readonly id: string;
      readonly text: string | null;
    }
  | { readonly op: 'status'; readonly docId: number; readonly status: MemoryStatus; readonly validTo: number; readonly supersededAt: number }
  | { readonly op: 'remove'; readonly docId: number };

/** What one write transaction did, per scope key. */
type WriteLog = Map<string, CodeOp[]>;

/** SqliteVectorIndex implements VectorIndex over sqlite-vec and FTS5 in `memory.db`. */
export class SqliteVectorIndex implements VectorIndex {
  private readonly db: Db;
  private readonly path: string;
  readonly dimensions: number;
  private stmts!: ReturnType<SqliteVectorIndex['prepare']>;
  /** Search statements differ by the shape of the filter; cached by SQL text. */
  private readonly searchCache = new Map<string, Statement>();
  /** In-memory codes of recently searched scopes, least recently searched first. */
  private readonly codes = new Map<string, ScopeCodes>();
  /** In-memory keyword indexes of recently searched large scopes, least recently searched first. */
  private readonly keywords = new Map<string, ScopeKeywords>();
  /** Rows containing a query word, and the total, reused until enough writes make them stale. */
  private termStats: { readonly rows: number; readonly dataVersion: number; readonly writes: number; readonly df: Map<string, number> } | null = null;
  /** Documents written through this index (for the staleness of `termStats`). */
  private writes = 0;
  /**
   * During a rebuild (`beginRebuild` … `endRebuild`): every document in `vec_docs`, by `docKey`.
   * A document absent here is absent from the table: it is inserted without a lookup, and a status
   * change or removal of it is a no-op. Dropped (back to lookups) by any failed write: a
   * rolled-back transaction may have left entries that are not true.
   */
  private docs: Set<string> | null = null;

  private readonly tuning: Required<Omit<VectorIndexTuning, 'rescoreThread'>>;
  private readonly rescorer: RescoreThread | null;

  constructor(memoryDb: MemoryDb, tuning: VectorIndexTuning = {}) {
    this.db = memoryDb.db;
    this.path = memoryDb.path;
    this.dimensions = memoryDb.dimensions;
    this.tuning = { exactSearchMax: EXACT_SEARCH_MAX, hammingFactor: HAMMING_FACTOR, rescoreFactor: RESCORE_FACTOR, pruneMinRows: PRUNE_MIN_ROWS, keywordCacheMin: KEYWORD_CACHE_MIN, ...tuning };
    this.rescorer = tuning.rescoreThread === true ? new RescoreThread(this.path) : tuning.rescoreThread || null;
    this.stmts = this.prepare();
  }

  private prepare() {
    const db = this.db;
    return {
      findDoc: db.prepare<[string, string], DocRow>('SELECT doc_id, memory_id FROM vec_docs WHERE scope = ? AND memory_id = ?'),
      insertDoc: db.prepare(
        `INSERT INTO vec_docs(scope, memory_id, kind, granularity, status, valid_from, valid_to, recorded_at, superseded_at, code)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      updateDoc: db.prepare(
        `UPDATE vec_docs SET kind = ?, granularity = ?, status = ?, valid_from = ?, valid_to = ?, recorded_at = ?,
         superseded_at = ?, code = ? WHERE doc_id = ?`,
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
      putVector: db.prepare('INSERT OR REPLACE INTO vec_vectors(doc_id, embedding) VALUES (?, ?)'),
      deleteVector: db.prepare('DELETE FROM vec_vectors WHERE doc_id = ?'),
      getText: db.prepare<[bigint], { text: string; tags: string }>('SELECT text, tags FROM fts_memories WHERE rowid = ?'),
      insertText: db.prepare('INSERT INTO fts_memories(rowid, text, scope, tags) VALUES (?, ?, ?, ?)'),
      deleteText: db.prepare('DELETE FROM fts_memories WHERE rowid = ?'),
      bumpVersion: db.prepare<[string], { version: number }>(
        `INSERT INTO vec_scope_versions(scope, version) VALUES (?, 1)
         ON CONFLICT (scope) DO UPDATE SET version = version + 1 RETURNING version`,
      ),
      version: db.prepare<[string], { version: number }>('SELECT version FROM vec_scope_versions WHERE scope = ?'),
      codeRows: db.prepare<[string], CodeRow>(
        `SELECT doc_id, kind, granularity, status, valid_from, valid_to, recorded_at, superseded_at, code
         FROM vec_docs WHERE scope = ?`,
      ),
      fineCodeRows: db.prepare<[string], CodeRow>(
        `SELECT d.doc_id, d.kind, d.granularity, d.status, d.valid_from, d.valid_to, d.recorded_at, d.superseded_at, d.code, v.embedding
         FROM vec_docs d LEFT JOIN vec_vectors v ON v.doc_id = d.doc_id WHERE d.scope = ?`,
      ),
      scopeDocs: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM vec_docs WHERE scope = ?'),
      keywordRows: db.prepare<[string], KeywordRow>(
        // CROSS JOIN fixes the order: the scope's rows by index, then each text by rowid.
        `SELECT d.doc_id, d.memory_id, f.text, CASE d.granularity ${GRANULARITIES.map((g, i) => `WHEN '${g}' THEN ${i}`).join(' ')} END AS granularity
         FROM vec_docs d CROSS JOIN fts_memories f ON f.rowid = d.doc_id WHERE d.scope = ?`,
      ),
      rescore: db.prepare<[Float32Array, string], { doc: number; distance: number | null }>(
        // CROSS JOIN fixes the order: candidates first, each vector by primary key.
        `SELECT c.value AS doc, vec_distance_cosine(v.embedding, ?) AS distance
         FROM json_each(?) AS c CROSS JOIN vec_vectors v ON v.doc_id = c.value`,
      ),
      memoryIds: db.prepare<[string, string], { doc: number; id: string }>(
        `SELECT d.doc_id AS doc, d.memory_id AS id FROM json_each(?) AS c CROSS JOIN vec_docs d ON d.doc_id = c.value WHERE d.scope = ?`,
      ),
      termRows: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM fts_memories WHERE fts_memories MATCH ?'),
      totalRows: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM vec_docs'),
    };
  }

  /**
   * Starts a rebuild: the documents of the index (none, right after `clear`) are held in memory
   * until `endRebuild`, so that writes need no lookup to learn a document is new. Only for the one
   * connection that writes the index, which a rebuild is.
   */
  beginRebuild(): void {
    const docs = new Set<string>();
    const rows = this.run(() => this.db.prepare<[], { scope: string; memory_id: string }>('SELECT scope, memory_id FROM vec_docs').all());
    for (const r of rows) docs.add(docKey(r.scope, r.memory_id));
    this.docs = docs;
  }

  /** Ends a rebuild: writes look documents up again. */
  endRebuild(): void {
    this.docs = null;
  }

  /** Inserts or replaces documents (embedding, text and metadata), all in one transaction. */
  async upsert(scope: Scope, docs: readonly VectorDoc[]): Promise<void> {
    const key = checkedScopeKey(scope);
    for (const doc of docs) validateDoc(doc, this.dimensions);
    this.write((log) => {
      for (const doc of docs) this.upsertOne(log, key, doc);
    });
  }

  private upsertOne(log: WriteLog, key: string, doc: VectorDoc): void {
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
    const code = signCode(vector);
    const stored = codeBytes(code, this.dimensions);
    const tags = ftsTags(key, doc.granularity);
    const known = docKey(key, doc.id);
    const existing = this.docs !== null && !this.docs.has(known) ? undefined : s.findDoc.get(key, doc.id);
    let docId: bigint;
    let text: string | null = doc.text;
    if (existing === undefined) {
      docId = BigInt(s.insertDoc.run(key, doc.id, ...meta, stored).lastInsertRowid);
      s.insertVec.run(docId, key, vector, ...meta);
      s.putVector.run(docId, vector);
      s.insertText.run(docId, doc.text, key, tags);
      this.docs?.add(known);
    } else {
      docId = BigInt(existing.doc_id);
      s.updateDoc.run(...meta, stored, docId);
      // vec0 updates in place (a delete + insert would leave a hole in its chunk).
      s.updateVec.run(vector, ...meta, docId);
      s.putVector.run(docId, vector);
      // Re-tokenise only when the text or its tags changed.
      const indexed = s.getText.get(docId);
      if (indexed?.text === doc.text) text = null;
      if (indexed?.text !== doc.text || indexed.tags !== tags) {
        s.deleteText.run(docId);
        s.insertText.run(docId, doc.text, key, tags);
      }
    }
    this.writes++;
    this.logged(log, key)?.push({
      op: 'put',
      docId: Number(docId),
      code,
      vector,
      id: doc.id,
      text,
      meta: {
        kind: doc.kind,
        granularity: doc.granularity,
        status: doc.status,
        validFrom: doc.validFrom,
        validTo: doc.validTo ?? FAR_FUTURE,
        recordedAt: doc.recordedAt,
        supersededAt: doc.supersededAt ?? FAR_FUTURE,
      },
    });
  }

  /** Deletes documents from every table (vectors, text, mapping). Unknown ids are ignored. */
  async remove(scope: Scope, ids: readonly string[]): Promise<void> {
    const key = checkedScopeKey(scope);
    let removed = 0;
    this.write((log) => {
      for (const id of ids) removed += this.removeOne(log, key, id);
    });
    // Removal is erasure: move the zeroed pages out of the WAL so no old page image keeps the text.
    if (removed > 0) this.run(() => this.db.pragma('wal_checkpoint(TRUNCATE)'));
  }

  private removeOne(log: WriteLog, key: string, id: string): number {
    const s = this.stmts;
    const known = docKey(key, id);
    if (this.docs !== null && !this.docs.has(known)) return 0;
    const doc = s.findDoc.get(key, id);
    if (doc === undefined) return 0;
    const docId = BigInt(doc.doc_id);
    s.deleteVec.run(docId);
    s.deleteVector.run(docId);
    s.deleteText.run(docId);
    s.deleteDoc.run(docId);
    this.docs?.delete(known);
    this.writes++;
    this.logged(log, key)?.push({ op: 'remove', docId: doc.doc_id });
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
    this.write((log) => {
      for (const { key, w } of prepared) {
        if (w.op === 'upsert') this.upsertOne(log, key, w.doc);
        else if (w.op === 'status') this.setStatusOne(log, key, w.id, w.status, w.validTo, w.supersededAt);
        else removed += this.removeOne(log, key, w.id);
      }
    });
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
    this.write((log) => this.setStatusOne(log, key, id, status, validTo, supersededAt));
  }

  private setStatusOne(log: WriteLog, key: string, id: string, status: MemoryStatus, validTo: number | null, supersededAt: number | null): void {
    const s = this.stmts;
    if (this.docs !== null && !this.docs.has(docKey(key, id))) return;
    const doc = s.findDoc.get(key, id);
    if (doc === undefined) return;
    const docId = BigInt(doc.doc_id);
    const to = BigInt(validTo ?? FAR_FUTURE);
    const sup = BigInt(supersededAt ?? FAR_FUTURE);
    s.setDocStatus.run(status, to, sup, docId);
    s.setVecStatus.run(status, to, sup, docId);
    this.writes++;
    this.logged(log, key)?.push({ op: 'status', docId: doc.doc_id, status, validTo: validTo ?? FAR_FUTURE, supersededAt: supersededAt ?? FAR_FUTURE });
  }

  /**
   * Notes that a write touches a scope, and returns the list of the code changes its in-memory
   * copies must follow, or null when it has none (a rebuild's case: the changes need not be built).
   * No copy can be loaded meanwhile: a write transaction runs without yielding.
   */
  private logged(log: WriteLog, key: string): CodeOp[] | null {
    let ops = log.get(key);
    if (ops === undefined) {
      ops = [];
      log.set(key, ops);
    }
    return this.codes.has(key) || this.keywords.has(key) ? ops : null;
  }

  /**
   * Runs writes in one transaction that also bumps the version of every scope they touched; once
   * it has committed, the in-memory codes of those scopes follow (or are dropped, when another
   * connection wrote to the scope since they were loaded, or when the caller's own transaction
   * may still roll back).
   */
  private write(fn: (log: WriteLog) => void): void {
    const log: WriteLog = new Map();
    const versions = new Map<string, number>();
    // Inside a caller's transaction this one is a savepoint: whether it commits is not known here.
    const nested = this.db.inTransaction;
    // A caller's transaction may still roll back what this one writes: documents known from now on could be wrong.
    if (nested) this.docs = null;
    try {
      this.run(() =>
        this.db.transaction(() => {
          fn(log);
          for (const key of log.keys()) versions.set(key, (this.stmts.bumpVersion.get(key) as { version: number }).version);
        })(),
      );
    } catch (err) {
      this.docs = null;
      throw err;
    }
    for (const [key, ops] of log) {
      const version = versions.get(key) as number;
      const codes = this.codes.get(key);
      if (codes !== undefined) {
        if (nested || codes.version !== version - 1) this.codes.delete(key);
        else {
          for (const o of ops) {
            if (o.op === 'put') codes.put(o.docId, o.code, o.vector, o.meta);
            else if (o.op === 'status') codes.setStatus(o.docId, o.status, o.validTo, o.supersededAt);
            else codes.remove(o.docId);
          }
          codes.version = version;
        }
      }
      const keywords = this.keywords.get(key);
      if (keywords !== undefined) {
        if (nested || keywords.version !== version - 1) this.keywords.delete(key);
        else {
          for (const o of ops) {
            if (o.op === 'put' && o.text !== null) keywords.put(o.docId, o.id, o.text, GRANULARITY_INDEX.get(o.meta.granularity) as number);
            else if (o.op === 'put') keywords.setGranularity(o.docId, GRANULARITY_INDEX.get(o.meta.granularity) as number);
            else if (o.op === 'remove') keywords.remove(o.docId);
          }
          keywords.version = version;
        }
      }
    }
  }

  /** Nearest neighbours by cosine similarity (score = 1 - cosine distance), filters inside the KNN. */
  async searchDense(scope: Scope, vector: readonly number[], k: number, filter?: SearchFilter): Promise<ScoredId[]> {
    const request = this.denseRequest(scope, vector, k, filter);
    if (request === null) return [];
    const { key, limit, where } = request;
    let codes = this.run(() => this.scopeCodes(key));
    if (codes.size <= this.tuning.exactSearchMax) return this.exactDense(key, vector, limit, where);
    // A scope that grew past the limit since its codes were loaded: load them with the vectors.
    if (!codes.fine) codes = this.run(() => this.scopeCodes(key, true));
    // Binary first pass (Hamming, then the 8-bit vectors), then exact cosine for the best
    // rescoreFactor × k (same order and scores as the exact path).
    const query = new Float32Array(vector);
    const candidates = codes.nearest(query, limit * this.tuning.hammingFactor, limit * this.tuning.rescoreFactor, filter);
    // A zero vector has no cosine distance (NULL): it is similar to nothing.
    const rescored = (await this.rescore(query, candidates)).filter((r): r is { doc: number; distance: number } => r.distance !== null);
    rescored.sort((a, b) => a.distance - b.distance);
    // Memory ids only for the best `limit` and whatever ties the last of them (ties go by id),
    // read with the scope as a second guard: the codes are the scope's own.
    let end = Math.min(limit, rescored.length);
    while (end < rescored.length && (rescored[end] as { distance: number }).distance === (rescored[end - 1] as { distance: number }).distance) end++;
    const best = rescored.slice(0, end);
    const ids = new Map(this.run(() => this.stmts.memoryIds.all(JSON.stringify(best.map((r) => r.doc)), key)).map((r) => [r.doc, r.id]));
    return best
      .flatMap((r) => {
        const id = ids.get(r.doc);
        return id === undefined ? [] : [{ id, distance: r.distance }];
      })
      .sort((a, b) => a.distance - b.distance || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .slice(0, limit)
      .map((r) => ({ id: r.id, score: 1 - r.distance }));
  }

  /**
   * Exact distances of the candidates: in the rescoring thread when there is one (outside a
   * transaction, whose rows only this connection sees), else here; a failed thread falls back to here.
   */
  private async rescore(query: Float32Array, candidates: readonly number[]): Promise<readonly Rescored[]> {
    if (this.rescorer !== null && !this.db.inTransaction) {
      try {
        return await this.rescorer.rescore(query, candidates);
      } catch {
        // The in-thread statement reports what is wrong with the file, if anything is.
      }
    }
    return this.run(() => this.stmts.rescore.all(query, JSON.stringify(candidates)));
  }

  /** Stops the rescoring thread, if one runs (the index stays usable: a later search starts it again). */
  async close(): Promise<void> {
    await this.rescorer?.close();
  }

  /** Exact KNN by sqlite-vec over every matching document of the scope (the reference the fast path approximates). */
  async searchDenseExact(scope: Scope, vector: readonly number[], k: number, filter?: SearchFilter): Promise<ScoredId[]> {
    const request = this.denseRequest(scope, vector, k, filter);
    return request === null ? [] : this.exactDense(request.key, vector, request.limit, request.where);
  }

  /** A dense search's checked arguments; null when it can find nothing (k = 0, an empty filter list). */
  private denseRequest(scope: Scope, vector: readonly number[], k: number, filter?: SearchFilter): { key: string; limit: number; where: Clause } | null {
    const key = checkedScopeKey(scope);
    assertVector(vector, this.dimensions);
    const limit = clampK(k);
    const where = metadataClause(filter, '');
    return limit === 0 || where === null ? null : { key, limit, where };
  }

  private exactDense(key: string, vector: readonly number[], limit: number, where: Clause): ScoredId[] {
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

  /**
   * The scope's codes in memory, loaded (again) when absent, when another connection changed them,
   * or without the 8-bit vectors `fine` asks for. A scope larger than the exact search's limit is
   * loaded with its vectors anyway: its dense searches need them.
   */
  private scopeCodes(key: string, fine = false): ScopeCodes {
    const load = (version: number): ScopeCodes => {
      const withVectors = fine || (this.stmts.scopeDocs.get(key)?.n ?? 0) > this.tuning.exactSearchMax;
      return new ScopeCodes(this.dimensions, version, withVectors).load((withVectors ? this.stmts.fineCodeRows : this.stmts.codeRows).iterate(key));
    };
    return this.cached(this.codes, key, CODE_CACHE_MAX_BYTES, (e) => e.bytes, load, (e) => e.fine || !fine);
  }

  /** The scope's keyword index in memory, loaded (again) when absent or when another connection changed the scope. */
  private scopeKeywords(key: string): ScopeKeywords {
    return this.cached(this.keywords, key, KEYWORD_CACHE_MAX_DOCS, (e) => e.size, (version) => new ScopeKeywords(version).load(this.stmts.keywordRows.iterate(key)));
  }

  /**
   * A scope's entry of an in-memory cache, loaded when absent, at another version than the
   * scope's, or not `usable`; the cache keeps the most recently used scopes last and drops the
   * least recently used once their `weigh`ts add up to more than `max`.
   */
  private cached<T extends { version: number }>(
    cache: Map<string, T>,
    key: string,
    max: number,
    weigh: (entry: T) => number,
    load: (version: number) => T,
    usable: (entry: T) => boolean = () => true,
  ): T {
    const version = this.stmts.version.get(key)?.version ?? 0;
    let entry = cache.get(key);
    if (entry === undefined || entry.version !== version || !usable(entry)) entry = load(version);
    cache.delete(key);
    cache.set(key, entry);
    let held = 0;
    for (const e of cache.values()) held += weigh(e);
    for (const [other, e] of cache) {
      if (held <= max || other === key) break;
      cache.delete(other);
      held -= weigh(e);
    }
    return entry;
  }

  /** Keyword search with BM25 (score = -bm25, higher is better); the query text is never FTS5 syntax. */
  async searchText(scope: Scope, query: string, k: number, filter?: SearchFilter): Promise<ScoredId[]> {
    const found = this.keywordSearch(scope, query, k, filter, null);
    return found.get(null) ?? [];
  }

  /** Keyword search for several granularities in one FTS5 pass: the best `k` of each. */
  async searchTextByGranularity(
    scope: Scope,
    query: string,
    k: number,
    granularities: readonly Granularity[],
    filter?: SearchFilter,
  ): Promise<Map<Granularity, ScoredId[]>> {
    const wanted = [...new Set(granularities)];
    const found = this.keywordSearch(scope, query, k, { ...filter, granularities: wanted }, wanted);
    return new Map(wanted.map((g) => [g, found.get(g) ?? []]));
  }

  /**
   * BM25 over the scope's rows matching `filter`: the best `k` overall (under key null), or of
   * each of `perGranularity` (one pass, ranked within each by a window function).
   */
  private keywordSearch(
    scope: Scope,
    query: string,
    k: number,
    filter: SearchFilter | undefined,
    perGranularity: readonly Granularity[] | null,
  ): Map<Granularity | null, ScoredId[]> {
    const key = checkedScopeKey(scope);
    if (typeof query !== 'string') throw new ValidationError('query must be a string', { field: 'query' });
    const limit = Number.isFinite(k) ? Math.max(0, Math.floor(k)) : 0;
    const where = metadataClause(filter, 'd.');
    const terms = ftsTerms(query);
    if (terms.length === 0 || limit === 0 || where === null) return new Map();
    const codes = this.run(() => this.scopeCodes(key));
    if (codes.size >= this.tuning.keywordCacheMin) {
      const keywords = this.run(() => this.scopeKeywords(key));
      const groups = perGranularity ?? [null];
      const allowed = filter?.granularities ?? GRANULARITIES;
      // Each granularity's group: its place in perGranularity, or the one list; -1 when filtered out.
      const groupOf = GRANULARITIES.map((g) => (!allowed.includes(g) ? -1 : perGranularity === null ? 0 : perGranularity.indexOf(g)));
      const lists = keywords.search(terms, limit, groupOf, codes.filterTest(filter), keywords.size >= this.tuning.pruneMinRows);
      return new Map(groups.map((g, i) => [g, (lists[i] ?? []).map((h) => ({ id: h.id, score: h.score }))]));
    }
    // Granularities were checked by metadataClause: they are safe inside the match expression.
    // In a large index a query of common words only finds nothing: BM25 weighs every one ~0, so
    // its list would be the shortest rows, at the cost of scoring most of the index.
    const distinctive = this.run(() => this.distinctiveTerms(terms));
    const match = scopedFtsMatch(key, distinctive, filter?.granularities);
    if (match === null) return new Map();
    // The tags column narrows the match to the scope's rows; vec_docs stays the authority on scope
    // and filters (a token shared by two scopes would only cost time).
    const matched = `FROM fts_memories JOIN vec_docs d ON d.doc_id = fts_memories.rowid
       WHERE fts_memories MATCH ? AND d.scope = ?${where.sql}`;
    if (perGranularity === null) {
      const sql = `SELECT d.memory_id AS id, -bm25(fts_memories, 1.0, 0.0, 0.0) AS score ${matched}
        ORDER BY bm25(fts_memories, 1.0, 0.0, 0.0), d.memory_id LIMIT ?`;
      return new Map([[null, this.run(() => this.statement(sql).all(match, key, ...where.params, limit) as ScoredId[])]]);
    }
    // bm25() is not allowed inside a window: scores come from an inner query, ranked outside it.
    const sql = `SELECT id, score, granularity FROM (
        SELECT id, score, granularity, row_number() OVER (PARTITION BY granularity ORDER BY score DESC, id) AS position
        FROM (SELECT d.memory_id AS id, -bm25(fts_memories, 1.0, 0.0, 0.0) AS score, d.granularity AS granularity ${matched}))
      WHERE position <= ? ORDER BY granularity, position`;
    const rows = this.run(() => this.statement(sql).all(match, key, ...where.params, limit) as (ScoredId & { granularity: Granularity })[]);
    const out = new Map<Granularity | null, ScoredId[]>();
    for (const r of rows) {
      const list = out.get(r.granularity);
      const hit = { id: r.id, score: r.score };
      if (list) list.push(hit);
      else out.set(r.granularity, [hit]);
    }
    return out;
  }

  /**
   * The words worth matching in a large index: those in fewer than half of all rows. FTS5's BM25
   * gives a word in at least half an IDF of ~0 (it clamps it to 1e-6), so leaving it out changes
   * no score of a row that matches another word, but matching it would make FTS5 score nearly
   * every row (a user's own name is in most of their memories). Only rows matching nothing but
   * such words drop out (all of them when no other word remains). Small indexes keep every word.
   */
  private distinctiveTerms(terms: readonly string[]): string[] {
    const dataVersion = this.db.pragma('data_version', { simple: true }) as number;
    let stats = this.termStats;
    if (stats === null || stats.dataVersion !== dataVersion || this.writes - stats.writes > Math.max(100, stats.rows / 20) || stats.df.size > 10_000) {
      stats = { rows: this.stmts.totalRows.get()?.n ?? 0, dataVersion, writes: this.writes, df: new Map() };
      this.termStats = stats;
    }
    const { rows, df } = stats;
    if (rows < this.tuning.pruneMinRows) return [...terms];
    return terms.filter((t) => {
      let n = df.get(t);
      if (n === undefined) {
        n = this.stmts.termRows.get(`text : "${t}"`)?.n ?? 0;
        df.set(t, n);
      }
      return 2 * n < rows;
    });
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
    // The scope's codes carry the filter's columns: counting there reads no rows (a search loads them anyway).
    return this.run(() => this.scopeCodes(key).countAtMost(filter, cap));
  }

  /** Deletes every document of every scope (before a replay rebuilds the index). */
  async clear(): Promise<void> {
    this.run(() =>
      this.db.transaction(() => {
        // Dropping the virtual tables frees their chunks; DELETE would leave them allocated.
        dropVectorTables(this.db);
        this.db.prepare('DELETE FROM vec_docs').run();
        this.db.prepare('DELETE FROM vec_vectors').run();
        // Versions only grow: a copy of the codes loaded elsewhere before the clear must not match again.
        this.db.prepare('UPDATE vec_scope_versions SET version = version + 1').run();
        createVectorTables(this.db, this.dimensions);
      })(),
    );
    this.codes.clear();
    this.keywords.clear();
    this.termStats = null;
    // A rebuild under way goes on over the empty index.
    if (this.docs !== null) this.docs = new Set();
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

/** The in-memory key of a document. */
function docKey(scope: string, id: string): string {
  return `${scope}\u0000${id}`;
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
