/**
 * The embedded MemoryGraph and its checkpoints on LadybugDB (`@ladybugdb/core`, embedded Cypher).
 * The Cypher, the graph logic and the port methods are shared with the Neo4j adapter
 * (infra/graph/cypher.ts, cypher-graph.ts); this file owns what is engine-specific: node/rel
 * tables, transactions, serialising calls on the one connection, value conversion, error mapping
 * and the file lock (one process per database).
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import lbug from '@ladybugdb/core';
import type { Connection, Database, LbugValue, PreparedStatement, QueryResult } from '@ladybugdb/core';
import { DataDirError, EngramError, StorageError } from '../../core/errors.js';
import type { CypherParams, CypherRow, CypherRunner, PropertyType } from '../graph/cypher.js';
import { GRAPH_SCHEMA } from '../graph/cypher.js';
import { CypherMemoryGraph } from '../graph/cypher-graph.js';
import { applyGraphOps, emptyKnowledge, loadKnowledge, type GraphKnowledge, type GraphOp } from './graph-batch.js';

/** The database file inside the graph directory. */
export const GRAPH_FILE = 'graph.lbug';

export interface LadybugOptions {
  /** Buffer pool size in bytes (LadybugDB's default is most of the RAM). */
  readonly bufferPoolBytes?: number;
  /** Largest database size in bytes, a power of two. It is reserved as address space up front. */
  readonly maxBytes?: number;
  /** Tracing: called with every shared-catalogue statement and its parameters before it runs. */
  readonly onStatement?: (statement: string, params: CypherParams) => void;
}

const DEFAULT_BUFFER_POOL = 256 * 1024 * 1024;
// LadybugDB's default (8 TiB) is reserved as virtual memory per database; 1 TiB leaves room for many.
const DEFAULT_MAX_SIZE = 2 ** 40;

const COLUMN_TYPES: Record<PropertyType, string> = { string: 'STRING', int: 'INT64', float: 'DOUBLE' };

/** LadybugDB DDL for the shared graph model (node tables keyed by `key`, rel tables). */
export function ladybugSchema(): string[] {
  const columns = (props: Readonly<Record<string, PropertyType>>): string[] =>
    Object.entries(props).map(([name, type]) => `${name} ${COLUMN_TYPES[type]}`);
  const out: string[] = [];
  for (const [label, node] of Object.entries(GRAPH_SCHEMA.nodes)) {
    out.push(`CREATE NODE TABLE IF NOT EXISTS ${label}(${[...columns(node.properties), 'PRIMARY KEY(key)'].join(', ')})`);
  }
  for (const [type, rel] of Object.entries(GRAPH_SCHEMA.rels)) {
    const props = columns(rel.properties as Readonly<Record<string, PropertyType>>);
    out.push(`CREATE REL TABLE IF NOT EXISTS ${type}(${[`FROM ${rel.from} TO ${rel.to}`, ...props].join(', ')})`);
  }
  return out;
}

/** Maps a LadybugDB failure to an EngramError: unusable files need a person, locks and I/O may pass. */
export function ladybugError(cause: unknown, path: string): Error {
  const message = cause instanceof Error ? cause.message : String(cause);
  if (/could not set lock/i.test(message)) {
    return new StorageError(`${path} is in use by another process (LadybugDB allows one): ${message}`, {
      cause,
      retriable: true,
      details: { path },
    });
  }
  if (/not a valid lbug database|cannot open file|permission denied|read-only|no space left/i.test(message)) {
    return new DataDirError(`graph database ${path} cannot be used: ${message}`, { cause, details: { path } });
  }
  if (/^(binder|parser|catalog) exception/i.test(message)) {
    return new StorageError(`graph query rejected: ${message}`, { cause, retriable: false, details: { path } });
  }
  return new StorageError(`graph database ${path}: ${message}`, { cause, details: { path } });
}

/** A Cypher string literal (LadybugDB escapes with backslashes; a doubled quote is a syntax error). */
export function cypherString(v: string): string {
  return `'${v.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/** Plain JS value of a result cell: INT64 beyond 2^53 would come back as bigint. */
function plain(v: LbugValue): unknown {
  return typeof v === 'bigint' ? Number(v) : v;
}

/** Databases open in this process: LadybugDB's lock is per process, so guard against a second open here. */
const openPaths = new Set<string>();

/** MemoryGraph and CheckpointStore over one LadybugDB database. Calls are serialised on one connection. */
export class LadybugMemoryGraph extends CypherMemoryGraph {
  private readonly statements = new Map<string, PreparedStatement>();
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** During a rebuild (`beginRebuild` … `endRebuild`): the graph's nodes, kept in step (graph-batch.ts). */
  private knowledge: GraphKnowledge | null = null;

  private constructor(
    private db: Database,
    private conn: Connection,
    /** The database file. */
    readonly path: string,
    private readonly options: { readonly bufferPool: number; readonly maxBytes: number },
    private readonly onStatement?: (statement: string, params: CypherParams) => void,
  ) {
    super();
  }

  /** Opens (creating if needed) the graph database in directory `dir` and sets up its tables. */
  static async open(dir: string, opts: LadybugOptions = {}): Promise<LadybugMemoryGraph> {
    const root = resolve(dir);
    try {
      mkdirSync(root, { recursive: true });
    } catch (cause) {
      throw new DataDirError(`graph directory ${root} cannot be used: ${(cause as Error).message}`, { cause });
    }
    const path = join(root, GRAPH_FILE);
    if (openPaths.has(path)) {
      throw new StorageError(`graph database ${path} is already open in this process`, { retriable: false });
    }
    let db: Database | undefined;
    let conn: Connection | undefined;
    try {
      db = new lbug.Database(path, opts.bufferPoolBytes ?? DEFAULT_BUFFER_POOL, true, false, opts.maxBytes ?? DEFAULT_MAX_SIZE);
      await db.init();
      conn = new lbug.Connection(db);
      await conn.init();
      for (const ddl of ladybugSchema()) closeResults(await conn.query(ddl));
    } catch (cause) {
      await conn?.close().catch(() => undefined);
      await db?.close().catch(() => undefined);
      throw ladybugError(cause, path);
    }
    openPaths.add(path);
    const sizes = { bufferPool: opts.bufferPoolBytes ?? DEFAULT_BUFFER_POOL, maxBytes: opts.maxBytes ?? DEFAULT_MAX_SIZE };
    return new LadybugMemoryGraph(db, conn, path, sizes, opts.onStatement);
  }

  /**
   * Drops every memory, entity and message (before a rebuild), keeping checkpoints: the tables are
   * dropped and created again, far faster than deleting every node and edge one by one.
   */
  override async clear(): Promise<void> {
    await this.exclusive(async () => {
      this.statements.clear();
      for (const rel of Object.keys(GRAPH_SCHEMA.rels)) await this.raw(`DROP TABLE IF EXISTS ${rel}`);
      for (const node of Object.keys(GRAPH_SCHEMA.nodes)) if (node !== 'Checkpoint') await this.raw(`DROP TABLE IF EXISTS ${node}`);
      for (const ddl of ladybugSchema()) await this.raw(ddl);
    });
    // The shared statements still run, now over empty tables: they stay the ones Neo4j runs.
    await super.clear();
    if (this.knowledge !== null) this.knowledge = emptyKnowledge();
  }

  /**
   * Starts a rebuild: the graph's nodes are read once and then followed in memory, so that batches
   * need no lookups to tell new memories, entities and messages from existing ones. Only for the
   * one connection that writes the graph, which a rebuild is.
   */
  async beginRebuild(): Promise<void> {
    this.knowledge = await this.read('beginRebuild', (tx) => loadKnowledge(tx));
  }

  /** Ends a rebuild: batches look nodes up again. */
  endRebuild(): void {
    this.knowledge = null;
  }

  /** Applies a projector batch of operations in one transaction, new memories and links in bulk (graph-batch.ts). */
  applyOps(ops: readonly GraphOp[]): Promise<void> {
    if (ops.length === 0) return Promise.resolve();
    const known = this.knowledge ?? undefined;
    return this.write('applyOps', (tx) => applyGraphOps(tx, ops, known)).catch((err: unknown) => {
      // Rolled back: the knowledge may hold nodes that are not there; look them up from now on.
      if (known !== undefined && this.knowledge === known) this.knowledge = null;
      throw err;
    });
  }

  /**
   * Runs `fn` (a rebuild) with LadybugDB's automatic checkpoints off, then checkpoints once: a
   * rebuild writes the whole graph, and a checkpoint after every batch rewrote the growing file
   * again and again. Until that checkpoint the changes are in the write-ahead log (crash-safe).
   */
  async deferCheckpoints<T>(fn: () => Promise<T>): Promise<T> {
    await this.exclusive(() => this.raw('CALL auto_checkpoint=false'));
    try {
      return await fn();
    } finally {
      await this.exclusive(async () => {
        await this.raw('CALL auto_checkpoint=true');
        await this.raw('CHECKPOINT');
      });
    }
  }

  /**
   * Rewrites the database with only its live data (EXPORT, then IMPORT into a fresh file). Deleted
   * nodes leave their bytes in LadybugDB's pages; after an erasure this is how they go for good.
   */
  compact(): Promise<void> {
    return this.exclusive(async () => {
      const dir = dirname(this.path);
      const exported = join(dir, `.compact-${process.pid}-${Date.now()}`);
      try {
        await this.raw('CHECKPOINT');
        await this.raw(`EXPORT DATABASE ${cypherString(exported)}`);
        await this.release();
        for (const f of readdirSync(dir)) if (f.startsWith(GRAPH_FILE)) rmSync(join(dir, f), { recursive: true, force: true });
        await this.reopen();
        await this.raw(`IMPORT DATABASE ${cypherString(exported)}`);
        await this.raw('CHECKPOINT');
      } catch (cause) {
        throw cause instanceof EngramError ? cause : ladybugError(cause, this.path);
      } finally {
        rmSync(exported, { recursive: true, force: true });
      }
    });
  }

  /**
   * Closes the database in this thread (releasing LadybugDB's per-process lock) while `fn` runs,
   * so that a worker thread may open the graph directory it is given; then opens it again. Calls
   * made meanwhile wait until it is back.
   */
  lend<T>(fn: (dir: string) => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      await this.release();
      try {
        return await fn(dirname(this.path));
      } finally {
        await this.reopen();
      }
    });
  }

  /** Closes the connection and the database, releasing the file lock. Idempotent. */
  close(): Promise<void> {
    return this.exclusive(async () => {
      if (this.closed) return;
      this.closed = true;
      this.statements.clear();
      openPaths.delete(this.path);
      try {
        await this.conn.close();
        await this.db.close();
      } catch (cause) {
        throw ladybugError(cause, this.path);
      }
    }, true);
  }

  // ------------------------------------------------------------ plumbing

  /** Closes the connection and the database (their file stays). */
  private async release(): Promise<void> {
    this.statements.clear();
    try {
      await this.conn.close();
      await this.db.close();
    } catch (cause) {
      throw ladybugError(cause, this.path);
    }
  }

  /** Opens the database and a connection again, after `release`. */
  private async reopen(): Promise<void> {
    try {
      this.db = new lbug.Database(this.path, this.options.bufferPool, true, false, this.options.maxBytes);
      await this.db.init();
      this.conn = new lbug.Connection(this.db);
      await this.conn.init();
    } catch (cause) {
      throw ladybugError(cause, this.path);
    }
  }

  /** Runs `fn` after every earlier call: one connection runs one transaction at a time. */
  private exclusive<T>(fn: () => Promise<T>, allowClosed = false): Promise<T> {
    const run = async (): Promise<T> => {
      if (this.closed && !allowClosed) {
        throw new StorageError(`graph database ${this.path} is closed`, { retriable: false });
      }
      return fn();
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  protected write<T>(_op: string, fn: (tx: CypherRunner) => Promise<T>): Promise<T> {
    return this.exclusive(() => this.transaction('BEGIN TRANSACTION', fn));
  }

  protected read<T>(_op: string, fn: (tx: CypherRunner) => Promise<T>): Promise<T> {
    return this.exclusive(() => this.transaction('BEGIN TRANSACTION READ ONLY', fn));
  }

  private async transaction<T>(begin: string, fn: (tx: CypherRunner) => Promise<T>): Promise<T> {
    await this.raw(begin);
    let result: T;
    try {
      result = await fn({ run: (statement, params) => this.run(statement, params) });
    } catch (err) {
      // LadybugDB has already rolled back when a statement failed; this covers errors raised in JS.
      await this.raw('ROLLBACK').catch(() => undefined);
      throw err;
    }
    await this.raw('COMMIT');
    return result;
  }

  private async raw(statement: string): Promise<void> {
    try {
      closeResults(await this.conn.query(statement));
    } catch (cause) {
      throw ladybugError(cause, this.path);
    }
  }

  private async run(statement: string, params: CypherParams): Promise<CypherRow[]> {
    this.onStatement?.(statement, params);
    try {
      let prepared = this.statements.get(statement);
      if (!prepared) {
        prepared = await this.conn.prepare(statement);
        if (!prepared.isSuccess()) throw new Error(prepared.getErrorMessage());
        this.statements.set(statement, prepared);
      }
      // The parameter union is a subset of LbugValue, but readonly; the binding only reads it.
      const result = await this.conn.execute(prepared, params as Record<string, LbugValue>);
      const results = Array.isArray(result) ? result : [result];
      try {
        const rows: CypherRow[] = [];
        for (const r of results) {
          for (const row of await r.getAll()) {
            const out: Record<string, unknown> = {};
            for (const [k, v] of Object.entries(row)) out[k] = plain(v);
            rows.push(out);
          }
        }
        return rows;
      } finally {
        closeResults(results);
      }
    } catch (cause) {
      throw ladybugError(cause, this.path);
    }
  }
}

/** Closes query results: an open result keeps the database, and its file lock, alive. */
function closeResults(result: QueryResult | QueryResult[]): void {
  for (const r of Array.isArray(result) ? result : [result]) r.close();
}
