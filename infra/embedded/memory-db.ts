/**
 * The embedded profile's `memory.db`: one SQLite file holding the vector index (sqlite-vec + FTS5),
 * the memory store (current state and history) and the projectors' checkpoints, so a projector can
 * commit its effect and its checkpoint in one transaction. This module opens the file, owns its
 * schema, and implements the CheckpointStore port over it.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import * as sqliteVec from 'sqlite-vec';
import { ConfigError, DataDirError, ValidationError } from '../../core/errors.js';
import type { CheckpointStore } from '../../core/ports.js';
import { guardSqlite, openDatabase, sqliteError } from '../sqlite/open.js';
import type { Db } from '../sqlite/open.js';
import { ftsTags } from './fts-query.js';
import { startWalCheckpointer } from './wal-checkpointer.js';

/** Bumped whenever the DDL below changes incompatibly; older files are migrated on open. */
export const MEMORY_DB_SCHEMA_VERSION = 4;

/** sqlite-vec's compile-time limit on vector dimensions (SQLITE_VEC_VEC0_MAX_DIMENSIONS). */
const MAX_DIMENSIONS = 8192;

/** An open `memory.db`, shared by the vector index, the memory store and the checkpoint store. */
export interface MemoryDb {
  readonly db: Db;
  readonly path: string;
  /** Dimensions of the vec0 table, fixed when the file was created. */
  readonly dimensions: number;
  readonly checkpoints: SqliteCheckpointStore;
  /**
   * Runs a bulk load (a rebuild) so that each page is written once. When no other connection is
   * reading the file, it switches to a rollback journal for the load (the WAL writes every page twice:
   * into the log, then into the file; a rollback journal keeps only the prior content of pages
   * that held data, and a rebuild mostly fills free pages) and back to WAL after it. Otherwise
   * (another connection reading) the WAL stays, with automatic checkpoints off, a thread copying
   * it into the file meanwhile (wal-checkpointer.ts) and one checkpoint at the end. Either way a
   * crash of the process leaves the last committed transaction.
   *
   * Under the rollback journal the load does not wait for the disk at each commit
   * (`synchronous = OFF`): the file holds only projections of the log, and the waits cost a
   * seventh of a rebuild. A marker file beside it (UNSYNCED_LOAD) says so until the file has been
   * synced at the end; if the machine stopped meanwhile, the next open empties the projections
   * (see `recoverUnsyncedLoad`).
   */
  bulkWrites<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Runs a rebuild's clears with the pages they free left as they are instead of zeroed one by one
   * (`secure_delete = FAST`: pages still in use are purged): zeroing them writes as much again
   * as the rebuild's own writes, and the rebuild reuses them, zeroing each as it takes it. The file
   * is marked as holding unpurged free pages until `purgeFreePages`, which a crash leaves to the
   * next open.
   */
  deferPurge<T>(fn: () => Promise<T>): Promise<T>;
  /** Overwrites every free page with zeros (after `deferPurge`) and clears the mark. */
  purgeFreePages(): void;
  /** Closes the connection (idempotent). */
  close(): void;
}

/** Opens (creating if needed) `memory.db` with sqlite-vec loaded and the schema in place. */
export function openMemoryDb(path: string, dimensions: number): MemoryDb {
  if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > MAX_DIMENSIONS) {
    throw new ValidationError(`embedding dimensions must be an integer in 1..${MAX_DIMENSIONS}, got ${dimensions}`, {
      field: 'dimensions',
    });
  }
  const db = openDatabase(path);
  try {
    guardSqlite(path, () => {
      sqliteVec.load(db);
      // Erasure must not leave deleted text in free pages (DESIGN.md §6: "erasure leaves no trace").
      db.pragma('secure_delete = ON');
    });
    guardSqlite(path, () => recoverUnsyncedLoad(db, path));
    const stored = guardSqlite(path, () => db.transaction(() => createSchema(db, dimensions)).immediate());
    // A rebuild that stopped between its clears and its end left free pages unpurged.
    if (purgePending(db)) guardSqlite(path, () => purgeFreePages(db));
    if (stored !== dimensions) {
      throw new ConfigError(
        `${path} holds ${stored}-dimensional embeddings but the embedder produces ${dimensions}: ` +
          'use the original embedder or rebuild the projections into a fresh data directory',
        { stored, configured: dimensions },
      );
    }
  } catch (err) {
    db.close();
    throw err;
  }
  const checkpoints = new SqliteCheckpointStore(db, path);
  const setPurgePending = db.prepare(`INSERT OR REPLACE INTO engram_meta(key, value) VALUES ('${PURGE_PENDING}', '1')`);
  return {
    db,
    path,
    dimensions,
    checkpoints,
    async bulkWrites<T>(fn: () => Promise<T>): Promise<T> {
      if (guardSqlite(path, () => leaveWal(db))) {
        const synchronous = db.pragma('synchronous', { simple: true }) as number;
        try {
          markUnsyncedLoad(path);
          db.pragma('synchronous = OFF');
          return await fn();
        } finally {
          try {
            if (db.open) {
              db.pragma(`synchronous = ${Math.max(1, Math.floor(synchronous))}`);
              // Every write of the load to the disk (fsync takes the whole file, whichever handle
              // asks), and the removal of its last journal; then the marker can go.
              onMarker(path, 'sync', () => {
                syncPath(path);
                syncPath(dirname(path));
              });
              unmarkUnsyncedLoad(path);
            }
          } finally {
            try {
              if (db.open) db.pragma('journal_mode = WAL');
            } catch {
              // A reader held on past the busy timeout: the file stays whole under its rollback
              // journal, and the next open sets WAL again; the load's own outcome is what counts.
            }
          }
        }
      }
      const previous = db.pragma('wal_autocheckpoint', { simple: true }) as number;
      db.pragma('wal_autocheckpoint = 0');
      const copier = startWalCheckpointer(path);
      try {
        return await fn();
      } finally {
        await copier.stop();
        db.pragma(`wal_autocheckpoint = ${Math.max(0, Math.floor(previous))}`);
        if (db.open) guardSqlite(path, () => db.pragma('wal_checkpoint(TRUNCATE)'));
      }
    },
    async deferPurge<T>(fn: () => Promise<T>): Promise<T> {
      guardSqlite(path, () => setPurgePending.run());
      db.pragma('secure_delete = FAST');
      try {
        return await fn();
      } finally {
        if (db.open) db.pragma('secure_delete = ON');
      }
    },
    purgeFreePages(): void {
      guardSqlite(path, () => purgeFreePages(db));
    },
    close(): void {
      if (db.open) db.close();
    },
  };
}

/**
 * Switches the file to a rollback journal, if no other connection is reading it (leaving WAL
 * mode needs that); true when it did. Tried once, without waiting: a reader means the WAL stays.
 */
function leaveWal(db: Db): boolean {
  const timeout = db.pragma('busy_timeout', { simple: true }) as number;
  db.pragma('busy_timeout = 0');
  try {
    return db.pragma('journal_mode = DELETE', { simple: true }) === 'delete';
  } catch (err) {
    if (/^SQLITE_(BUSY|LOCKED)/.test((err as { code?: string }).code ?? '')) return false;
    throw err;
  } finally {
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(timeout))}`);
  }
}

/** The marker file of a load writing `memory.db` without syncing, beside it (see `bulkWrites`). */
export const UNSYNCED_LOAD = '.unsynced-load';

/**
 * This boot of the machine (Linux); null where unknown, which `recoverUnsyncedLoad` takes for a
 * restart. A process crash keeps it, a reboot changes it.
 */
function bootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
  } catch {
    return null;
  }
}

/** Syncs a file's data, or a directory's entries (a created or removed file), to the disk. */
function syncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Runs a file operation on the marker; a failure (full disk, read-only directory) becomes a DataDirError. */
function onMarker<T>(marker: string, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (cause) {
    throw new DataDirError(`cannot ${what} ${marker}: ${(cause as Error).message}`, { cause, details: { path: marker } });
  }
}

/** Writes and syncs the marker of an unsynced load, holding this boot's id. */
function markUnsyncedLoad(path: string): void {
  const marker = `${path}${UNSYNCED_LOAD}`;
  onMarker(marker, 'write', () => {
    const fd = openSync(marker, 'w');
    try {
      writeSync(fd, bootId() ?? '');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    syncPath(dirname(marker));
  });
}

/** Removes the marker once the load is durable. */
function unmarkUnsyncedLoad(path: string): void {
  const marker = `${path}${UNSYNCED_LOAD}`;
  onMarker(marker, 'remove', () => {
    rmSync(marker, { force: true });
    syncPath(dirname(path));
  });
}

/**
 * At open, after a load that wrote without syncing did not finish: if the machine has not
 * restarted since (the process died), the file is as its last commit left it, as after any crash.
 * Otherwise its writes may have reached the disk partly and out of order: if SQLite finds the file
 * damaged it is refused with what to do, else every projection is emptied (with its checkpoints),
 * so that the projectors rebuild them from the log.
 */
function recoverUnsyncedLoad(db: Db, path: string): void {
  const marker = `${path}${UNSYNCED_LOAD}`;
  if (!existsSync(marker)) return;
  const boot = onMarker(marker, 'read', () => readFileSync(marker, 'utf8'));
  const current = bootId();
  const restarted = boot === '' || current === null || boot !== current;
  if (restarted) {
    let check: unknown;
    try {
      check = db.pragma('quick_check', { simple: true });
    } catch (cause) {
      check = (cause as Error).message;
    }
    if (check !== 'ok') {
      const found = String(check).split('\n').slice(0, 3).join('; ').slice(0, 300);
      throw new DataDirError(
        `${path} was being rebuilt when the machine stopped and is damaged (${found}): ` +
          'delete it and its -journal file, then run `engram replay` (the log holds everything it held)',
        { details: { path } },
      );
    }
    emptyProjections(db);
  }
  unmarkUnsyncedLoad(path);
}

/** Deletes every row of every table but engram_meta (all are projections of the log), in one transaction. */
function emptyProjections(db: Db): void {
  const tables = db.prepare<[], { name: string; sql: string | null }>("SELECT name, sql FROM sqlite_master WHERE type = 'table'").all();
  const virtual = tables.filter((t) => /^CREATE VIRTUAL TABLE/i.test(t.sql ?? '')).map((t) => t.name);
  // A virtual table's own tables (`<name>_…`) are emptied through it, never directly.
  const own = (name: string): boolean => virtual.some((v) => name.startsWith(`${v}_`));
  db.transaction(() => {
    for (const { name } of tables) {
      if (name === 'engram_meta' || name.startsWith('sqlite_') || own(name)) continue;
      db.prepare(`DELETE FROM "${name.replaceAll('"', '""')}"`).run();
    }
  }).immediate();
}

/** The mark of a file whose free pages may hold old content (engram_meta). */
const PURGE_PENDING = 'purge_pending';

/** Whether the file is marked as holding unpurged free pages. */
function purgePending(db: Db): boolean {
  return db.prepare<[string], { value: string }>('SELECT value FROM engram_meta WHERE key = ?').get(PURGE_PENDING) !== undefined;
}

/** Largest zero blob written at once by `purgeFreePages` (SQLite's default limit on a value is 1e9 bytes). */
const PURGE_BLOB_BYTES = 64 * 1024 * 1024;

/**
 * Zeroes every page of the freelist, then clears the purge mark, in one transaction: zero blobs
 * take all of the free pages (each zeroed as it is taken), and dropping them frees them again
 * zeroed (secure_delete). The file may grow by the few pages the blobs take beyond the freelist.
 */
function purgeFreePages(db: Db): void {
  db.pragma('secure_delete = ON');
  db.transaction(() => {
    const free = db.pragma('freelist_count', { simple: true }) as number;
    if (free > 0) {
      const pageSize = db.pragma('page_size', { simple: true }) as number;
      db.exec('DROP TABLE IF EXISTS engram_purge; CREATE TABLE engram_purge (zeros BLOB)');
      const insert = db.prepare('INSERT INTO engram_purge (zeros) VALUES (zeroblob(?))');
      for (let left = free * pageSize; left > 0; left -= PURGE_BLOB_BYTES) insert.run(Math.min(left, PURGE_BLOB_BYTES));
      db.exec('DROP TABLE engram_purge');
    }
    db.prepare('DELETE FROM engram_meta WHERE key = ?').run(PURGE_PENDING);
  }).immediate();
}

/** Creates every table that does not exist yet and returns the file's embedding dimensions. */
function createSchema(db: Db, dimensions: number): number {
  db.exec(`CREATE TABLE IF NOT EXISTS engram_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID`);
  const getMeta = db.prepare<[string], { value: string }>('SELECT value FROM engram_meta WHERE key = ?');
  const version = getMeta.get('schema_version');
  if (version !== undefined && Number(version.value) > MEMORY_DB_SCHEMA_VERSION) {
    throw new DataDirError(
      `memory.db has schema version ${version.value}, newer than this Engram (${MEMORY_DB_SCHEMA_VERSION}): upgrade Engram`,
    );
  }
  const storedDims = getMeta.get('dimensions');
  const dims = storedDims === undefined ? dimensions : Number(storedDims.value);
  const setMeta = db.prepare('INSERT OR REPLACE INTO engram_meta(key, value) VALUES (?, ?)');
  setMeta.run('schema_version', String(MEMORY_DB_SCHEMA_VERSION));
  setMeta.run('dimensions', String(dims));

  db.exec(`
    CREATE TABLE IF NOT EXISTS projector_checkpoints (
      projector   TEXT NOT NULL,
      topic       TEXT NOT NULL,
      partition   INTEGER NOT NULL,
      next_offset INTEGER NOT NULL,
      PRIMARY KEY (projector, topic, partition)
    ) WITHOUT ROWID;

    -- Vector index: memory id <-> integer rowid shared by vec0 and FTS5, plus the metadata that
    -- keyword search filters on (dense search filters on the vec0 copy inside the KNN query).
    CREATE TABLE IF NOT EXISTS vec_docs (
      doc_id        INTEGER PRIMARY KEY,
      scope         TEXT NOT NULL,
      memory_id     TEXT NOT NULL,
      kind          TEXT NOT NULL,
      granularity   TEXT NOT NULL,
      status        TEXT NOT NULL,
      valid_from    INTEGER NOT NULL,
      valid_to      INTEGER NOT NULL,
      recorded_at   INTEGER NOT NULL,
      superseded_at INTEGER NOT NULL,
      -- Sign bits of the embedding (binary-codes.ts), for the first pass of dense search.
      code          BLOB,
      UNIQUE (scope, memory_id)
    );

    -- The embeddings again, by doc id, for exact rescoring of the binary pass's candidates: a
    -- point read here costs a few µs, one from vec0's chunked storage tens.
    CREATE TABLE IF NOT EXISTS vec_vectors (
      doc_id    INTEGER PRIMARY KEY,
      embedding BLOB NOT NULL
    );

    -- Bumped by every write to a scope's documents, so that an in-memory copy of its codes
    -- (code-cache.ts) can tell when another connection changed them.
    CREATE TABLE IF NOT EXISTS vec_scope_versions (
      scope   TEXT PRIMARY KEY,
      version INTEGER NOT NULL
    ) WITHOUT ROWID;

    ${memoriesTable('mem_memories')}
    ${MEMORIES_INDEXES}

    CREATE TABLE IF NOT EXISTS mem_sources (
      tenant_id  TEXT NOT NULL,
      user_id    TEXT NOT NULL,
      message_id TEXT NOT NULL,
      memory_id  TEXT NOT NULL,
      PRIMARY KEY (tenant_id, user_id, message_id, memory_id)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS mem_sources_memory ON mem_sources (tenant_id, user_id, memory_id);

    CREATE TABLE IF NOT EXISTS mem_history (
      tenant_id   TEXT NOT NULL,
      user_id     TEXT NOT NULL,
      memory_id   TEXT NOT NULL,
      version     INTEGER NOT NULL,
      type        TEXT NOT NULL,
      recorded_at INTEGER NOT NULL,
      status      TEXT NOT NULL,
      text        TEXT NOT NULL,
      valid_from  INTEGER NOT NULL,
      valid_to    INTEGER,
      reason      TEXT NOT NULL,
      event_id    TEXT NOT NULL,
      PRIMARY KEY (tenant_id, user_id, memory_id, version)
    ) WITHOUT ROWID;

    CREATE TABLE IF NOT EXISTS mem_lessons (
      tenant_id   TEXT NOT NULL,
      user_id     TEXT NOT NULL,
      id          TEXT NOT NULL,
      created_at  INTEGER NOT NULL,
      lesson_json TEXT NOT NULL,
      PRIMARY KEY (tenant_id, user_id, id)
    ) WITHOUT ROWID;

    -- Language-model tokens per tenant (ModelCalled events), for metering.
    CREATE TABLE IF NOT EXISTS mem_model_usage (
      tenant_id         TEXT NOT NULL,
      model             TEXT NOT NULL,
      purpose           TEXT NOT NULL,
      calls             INTEGER NOT NULL,
      prompt_tokens     INTEGER NOT NULL,
      completion_tokens INTEGER NOT NULL,
      PRIMARY KEY (tenant_id, model, purpose)
    ) WITHOUT ROWID;

    CREATE TABLE IF NOT EXISTS mem_cluster_models (
      tenant_id    TEXT NOT NULL,
      user_id      TEXT NOT NULL,
      model_id     TEXT NOT NULL,
      parameters   TEXT NOT NULL,
      memory_count INTEGER NOT NULL,
      recorded_at  INTEGER NOT NULL,
      PRIMARY KEY (tenant_id, user_id)
    ) WITHOUT ROWID;
  `);
  migrateToV2(db);
  createVectorTables(db, dims);
  migrateToV3(db);
  migrateToV4(db);
  return dims;
}

/**
 * The memory store's table of current states (one row per memory, a tombstone after erasure),
 * created under `table`. A rowid table: its rows (~3 KB with the embedding) are far above what a
 * WITHOUT ROWID table keeps in its B-tree pages, so there every insert at a random key split
 * pages of overflowing cells; here rows are appended and the key is a small unique index.
 */
function memoriesTable(table: string): string {
  return `CREATE TABLE IF NOT EXISTS ${table} (
      tenant_id          TEXT NOT NULL,
      user_id            TEXT NOT NULL,
      id                 TEXT NOT NULL,
      status             TEXT NOT NULL,
      version            INTEGER NOT NULL,
      kind               TEXT,
      text_hash          TEXT,
      subject_key        TEXT,
      predicate_key      TEXT,
      invalidated_by     TEXT,
      recorded_at        INTEGER,
      memory_json        TEXT,
      embedding          BLOB,
      quarantine_reasons TEXT NOT NULL DEFAULT '[]',
      decision_reason    TEXT NOT NULL DEFAULT '',
      clusters_json      TEXT NOT NULL DEFAULT '[]',
      links_json         TEXT NOT NULL DEFAULT '[]',
      accesses           INTEGER NOT NULL DEFAULT 0,
      last_touched_at    INTEGER,
      PRIMARY KEY (tenant_id, user_id, id)
    );`;
}

/** The secondary indexes of `mem_memories`. */
const MEMORIES_INDEXES = `
    CREATE INDEX IF NOT EXISTS mem_memories_hash ON mem_memories (tenant_id, user_id, text_hash);
    CREATE INDEX IF NOT EXISTS mem_memories_triple ON mem_memories (tenant_id, user_id, subject_key, predicate_key);
    CREATE INDEX IF NOT EXISTS mem_memories_invalidated_by ON mem_memories (tenant_id, user_id, invalidated_by);
    CREATE INDEX IF NOT EXISTS mem_memories_status_kind ON mem_memories (tenant_id, user_id, status, kind);`;

/**
 * Version 4 made `mem_memories` a rowid table (it was WITHOUT ROWID, see memoriesTable); files of
 * version 3 and older are copied over here, columns in the same order. secure_delete zeroes the
 * old table's pages as they are freed.
 */
function migrateToV4(db: Db): void {
  const row = db.prepare<[], { sql: string }>("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'mem_memories'").get();
  if (row === undefined || !/WITHOUT\s+ROWID\s*$/i.test(row.sql)) return;
  const columns = db.prepare<[], { name: string }>("SELECT name FROM pragma_table_info('mem_memories')").all().map((c) => c.name).join(', ');
  db.exec(`
    ${memoriesTable('mem_memories_v4')}
    INSERT INTO mem_memories_v4 (${columns}) SELECT ${columns} FROM mem_memories;
    DROP TABLE mem_memories;
    ALTER TABLE mem_memories_v4 RENAME TO mem_memories;
    ${MEMORIES_INDEXES}
  `);
}

/** Version 2 added the forgetting curve's recall columns; files of version 1 get them here. */
function migrateToV2(db: Db): void {
  const columns = new Set(db.prepare<[], { name: string }>("SELECT name FROM pragma_table_info('mem_memories')").all().map((c) => c.name));
  if (!columns.has('accesses')) db.exec('ALTER TABLE mem_memories ADD COLUMN accesses INTEGER NOT NULL DEFAULT 0');
  if (!columns.has('last_touched_at')) {
    db.exec('ALTER TABLE mem_memories ADD COLUMN last_touched_at INTEGER');
    db.exec('UPDATE mem_memories SET last_touched_at = recorded_at');
  }
}

/**
 * Version 3 added binary codes (`vec_docs.code`, for the first pass of dense search) with the
 * embeddings by doc id (`vec_vectors`, to rescore its candidates), the scope versions the
 * in-memory copy of the codes checks, and the FTS `tags` column (scope token and
 * granularity); files of version 2 get them here, from what they hold.
 */
function migrateToV3(db: Db): void {
  const docColumns = new Set(db.prepare<[], { name: string }>("SELECT name FROM pragma_table_info('vec_docs')").all().map((c) => c.name));
  if (!docColumns.has('code')) {
    db.exec('ALTER TABLE vec_docs ADD COLUMN code BLOB');
    db.exec('UPDATE vec_docs SET code = (SELECT vec_quantize_binary(embedding) FROM vec_memories WHERE rowid = vec_docs.doc_id)');
    db.exec('INSERT OR REPLACE INTO vec_vectors(doc_id, embedding) SELECT rowid, embedding FROM vec_memories');
  }
  const ftsColumns = new Set(db.prepare<[], { name: string }>("SELECT name FROM pragma_table_info('fts_memories')").all().map((c) => c.name));
  if (!ftsColumns.has('tags')) {
    db.function('engram_fts_tags', { deterministic: true }, (scope: unknown, granularity: unknown) =>
      ftsTags(String(scope), String(granularity) as Parameters<typeof ftsTags>[1]),
    );
    db.exec(`
      CREATE VIRTUAL TABLE fts_memories_v3 USING fts5(text, scope UNINDEXED, tags, tokenize = 'porter unicode61 remove_diacritics 2');
      INSERT INTO fts_memories_v3(rowid, text, scope, tags)
        SELECT f.rowid, f.text, f.scope, engram_fts_tags(d.scope, d.granularity)
        FROM fts_memories f JOIN vec_docs d ON d.doc_id = f.rowid;
      DROP TABLE fts_memories;
      ALTER TABLE fts_memories_v3 RENAME TO fts_memories;
    `);
    db.prepare(`INSERT INTO fts_memories(fts_memories, rank) VALUES ('secure-delete', 1)`).run();
  }
}

/** Creates the vec0 and FTS5 virtual tables if missing (also used by the index's `clear()`). */
export function createVectorTables(db: Db, dimensions: number): void {
  // Metadata columns live inside vec0 so that KNN filters run inside the query and `k` counts
  // only matching rows. The scope partition key keeps each user's vectors in their own chunks.
  db.exec(`
    CREATE VIRTUAL TABLE IF NOT EXISTS vec_memories USING vec0(
      scope TEXT PARTITION KEY,
      embedding float[${dimensions}] distance_metric=cosine,
      kind TEXT,
      granularity TEXT,
      status TEXT,
      valid_from INTEGER,
      valid_to INTEGER,
      recorded_at INTEGER,
      superseded_at INTEGER
    );
    -- tags: the scope's token and the granularity (fts-query.ts), weighted 0 by BM25.
    CREATE VIRTUAL TABLE IF NOT EXISTS fts_memories USING fts5(
      text,
      scope UNINDEXED,
      tags,
      tokenize = 'porter unicode61 remove_diacritics 2'
    );
  `);
  // Deleted rows are purged from the FTS index at once instead of at the next merge (erasure).
  db.prepare(`INSERT INTO fts_memories(fts_memories, rank) VALUES ('secure-delete', 1)`).run();
}

/** Drops the vec0 and FTS5 virtual tables (their storage goes with them). */
export function dropVectorTables(db: Db): void {
  db.exec('DROP TABLE IF EXISTS vec_memories; DROP TABLE IF EXISTS fts_memories;');
}

/** Throws a ValidationError unless `value` is a non-negative safe integer. */
function assertOffset(field: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ValidationError(`${field} must be a non-negative integer, got ${value}`, { field });
  }
}

/** Checkpoints of projectors (next offset to read per topic partition), kept in `memory.db`. */
export class SqliteCheckpointStore implements CheckpointStore {
  private readonly getStmt;
  private readonly saveStmt;
  private readonly resetStmt;

  constructor(
    private readonly db: Db,
    private readonly path: string,
  ) {
    this.getStmt = db.prepare<[string, string, number], { next_offset: number }>(
      'SELECT next_offset FROM projector_checkpoints WHERE projector = ? AND topic = ? AND partition = ?',
    );
    // A checkpoint only moves forward: a late or repeated save can never make a projector re-apply.
    this.saveStmt = db.prepare(
      `INSERT INTO projector_checkpoints(projector, topic, partition, next_offset) VALUES (?, ?, ?, ?)
       ON CONFLICT (projector, topic, partition) DO UPDATE SET next_offset = max(next_offset, excluded.next_offset)`,
    );
    this.resetStmt = db.prepare('DELETE FROM projector_checkpoints WHERE projector = ?');
  }

  /** Synchronous read, for callers already inside a transaction on this connection. */
  checkpointSync(projector: string, topic: string, partition: number): number {
    assertOffset('partition', partition);
    return this.getStmt.get(projector, topic, partition)?.next_offset ?? 0;
  }

  /** Synchronous monotonic save, for callers already inside a transaction on this connection. */
  saveCheckpointSync(projector: string, topic: string, partition: number, nextOffset: number): void {
    if (projector === '' || topic === '') throw new ValidationError('projector and topic must be non-empty');
    assertOffset('partition', partition);
    assertOffset('nextOffset', nextOffset);
    this.saveStmt.run(projector, topic, partition, nextOffset);
  }

  /** Forgets every checkpoint of a projector, so that a replay starts from offset 0. */
  resetSync(projector: string): void {
    this.resetStmt.run(projector);
  }

  /** The next offset `projector` should read from a partition (0 when it never saved one). */
  async checkpoint(projector: string, topic: string, partition: number): Promise<number> {
    return this.guard(() => this.checkpointSync(projector, topic, partition));
  }

  /** Records that `projector` has applied everything before `nextOffset`; never moves backwards. */
  async saveCheckpoint(projector: string, topic: string, partition: number, nextOffset: number): Promise<void> {
    this.guard(() => this.saveCheckpointSync(projector, topic, partition, nextOffset));
  }

  /** Forgets every checkpoint of a projector (for replay after its projection was cleared). */
  async reset(projector: string): Promise<void> {
    this.guard(() => this.resetSync(projector));
  }

  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (cause) {
      if (cause instanceof ValidationError) throw cause;
      throw sqliteError(cause, this.path);
    }
  }
}
