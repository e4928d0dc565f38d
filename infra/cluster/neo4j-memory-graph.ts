/**
 * The cluster MemoryGraph and its checkpoints on Neo4j (`neo4j-driver`). The Cypher, the graph
 * logic and the port methods are shared with the LadybugDB adapter (infra/graph/cypher.ts,
 * cypher-graph.ts); this file owns what is engine-specific: constraints and indexes, sessions and
 * managed transactions (one port call = one transaction, retried by the driver on transient
 * failures), value conversion and error mapping.
 */
import neo4j from 'neo4j-driver';
import type { BookmarkManager } from 'neo4j-driver';
import { ConfigError, EngramError, StorageError } from '../../core/errors.js';
import type { CypherRunner } from '../graph/cypher.js';
import { GRAPH_SCHEMA } from '../graph/cypher.js';
import { CypherMemoryGraph } from '../graph/cypher-graph.js';
import type { RecordLike } from './neo4j-values.js';
import { toDriverParams, toRow } from './neo4j-values.js';

// ---------------------------------------------------------------- schema

/** Properties worth a range index wherever a label has them (besides `key`, which is unique). */
const NODE_INDEXES: readonly (readonly string[])[] = [['tenant', 'user'], ['status'], ['projector']];

/** Relationship properties worth a range index: the fact edge is found by its memory. */
const REL_INDEXES: Readonly<Record<string, readonly string[]>> = { RELATES: ['memoryId'] };

/**
 * Neo4j DDL for the shared graph model, idempotent: a uniqueness constraint on `key` per node label
 * (which also gives the key lookups their index), and range indexes for the scope filters
 * (tenant, user), lifecycle (status), checkpoints (projector) and the fact edge's memory id.
 */
export function neo4jSchema(): string[] {
  const out: string[] = [];
  for (const label of Object.keys(GRAPH_SCHEMA.nodes)) {
    out.push(`CREATE CONSTRAINT engram_${label}_key IF NOT EXISTS FOR (n:${label}) REQUIRE n.key IS UNIQUE`);
  }
  for (const [label, node] of Object.entries(GRAPH_SCHEMA.nodes)) {
    const props = Object.keys(node.properties);
    for (const index of NODE_INDEXES) {
      if (!index.every((p) => props.includes(p))) continue;
      const on = index.map((p) => `n.${p}`).join(', ');
      out.push(`CREATE INDEX engram_${label}_${index.join('_')} IF NOT EXISTS FOR (n:${label}) ON (${on})`);
    }
  }
  for (const [type, rel] of Object.entries(GRAPH_SCHEMA.rels)) {
    const props = Object.keys(rel.properties);
    for (const p of REL_INDEXES[type] ?? []) {
      if (!props.includes(p)) throw new TypeError(`GRAPH_SCHEMA.rels.${type} has no property ${p} to index`);
      out.push(`CREATE INDEX engram_${type}_${p} IF NOT EXISTS FOR ()-[r:${type}]-() ON (r.${p})`);
    }
  }
  return out;
}

// ---------------------------------------------------------------- the driver, as far as used here

/** A managed transaction (neo4j-driver's `ManagedTransaction` fits). */
export interface Neo4jTx {
  run(query: string, parameters: Record<string, unknown>): PromiseLike<{ readonly records: readonly RecordLike[] }>;
}

/** A session (neo4j-driver's `Session` fits): managed transactions, retried on transient errors. */
export interface Neo4jSession {
  executeRead<T>(work: (tx: Neo4jTx) => Promise<T>): Promise<T>;
  executeWrite<T>(work: (tx: Neo4jTx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** What the adapter asks of a session: its database, access mode and bookmark manager. */
export interface Neo4jSessionConfig {
  readonly database: string;
  readonly defaultAccessMode: 'READ' | 'WRITE';
  readonly bookmarkManager?: BookmarkManager;
}

/** A driver (neo4j-driver's `Driver` fits); injected in tests, created by `Neo4jMemoryGraph.open`. */
export interface Neo4jDriverLike {
  session(config: Neo4jSessionConfig): Neo4jSession;
  close(): Promise<void>;
}

/** Where and how `Neo4jMemoryGraph.open` connects (see ClusterConfig's neo4j* settings). */
export interface Neo4jGraphOptions {
  /** `neo4j://`, `bolt://` (and their `+s`/`+ssc` forms). */
  readonly url: string;
  readonly user: string;
  readonly password?: string;
  readonly database: string;
  /** Connect timeout, also the wait for a pooled connection (default 5 s). */
  readonly connectionTimeoutMs?: number;
  /** How long the driver retries a transaction on transient errors (default 15 s). */
  readonly maxTransactionRetryTimeMs?: number;
}

const DEFAULT_CONNECTION_TIMEOUT = 5_000;
const DEFAULT_RETRY_TIME = 15_000;

/** The fields of a driver error this file reads (`Neo4jError` has them). */
interface DriverErrorLike {
  readonly code: string;
  readonly message: string;
  readonly retryable?: boolean;
}

function isDriverError(err: unknown): err is DriverErrorLike {
  return err instanceof Error && typeof (err as { code?: unknown }).code === 'string';
}

/**
 * Maps a Neo4j failure to an EngramError: bad credentials or an unknown database need a person
 * (ConfigError); an unreachable server and transient errors may pass; a rejected statement will not.
 * EngramErrors and errors that are not the driver's (bugs, TypeErrors) are returned unchanged.
 */
export function neo4jError(cause: unknown, where: string): Error {
  if (cause instanceof EngramError || !isDriverError(cause)) return cause instanceof Error ? cause : new Error(String(cause));
  const { code, message } = cause;
  const details = { where, neo4jCode: code };
  if (cause.retryable === true) {
    return new StorageError(`neo4j ${where} unavailable (${code}): ${message}`, { cause, retriable: true, details });
  }
  if (code.startsWith('Neo.ClientError.Security.') || code === 'Neo.ClientError.Database.DatabaseNotFound') {
    return new ConfigError(`neo4j ${where}: ${message} (${code}); check ENGRAM_NEO4J_USER/PASSWORD/DATABASE`, details);
  }
  if (code.startsWith('Neo.ClientError.')) {
    return new StorageError(`neo4j rejected ${where} (${code}): ${message}`, { cause, retriable: false, details });
  }
  return new StorageError(`neo4j ${where} failed (${code}): ${message}`, { cause, retriable: true, details });
}

// ---------------------------------------------------------------- the adapter

/** MemoryGraph and CheckpointStore over one Neo4j database. Each call runs in its own session. */
export class Neo4jMemoryGraph extends CypherMemoryGraph {
  private closed = false;

  /** Wraps a driver (the caller has checked connectivity; `ensureSchema` sets up constraints). */
  constructor(
    private readonly driver: Neo4jDriverLike,
    /** The database every session uses. */
    readonly database: string,
    /** Shared by this graph's sessions, so that a read sees the writes before it (causal chaining). */
    private readonly bookmarkManager?: BookmarkManager,
  ) {
    super();
  }

  /** Connects, checks the server and credentials, and creates the constraints and indexes. */
  static async open(opts: Neo4jGraphOptions): Promise<Neo4jMemoryGraph> {
    const timeout = opts.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT;
    let driver: ReturnType<typeof neo4j.driver>;
    try {
      driver = neo4j.driver(opts.url, neo4j.auth.basic(opts.user, opts.password ?? ''), {
        connectionTimeout: timeout,
        connectionAcquisitionTimeout: timeout,
        maxTransactionRetryTime: opts.maxTransactionRetryTimeMs ?? DEFAULT_RETRY_TIME,
        userAgent: 'engram',
      });
    } catch (cause) {
      throw new ConfigError(`invalid Neo4j address ${opts.url}: ${cause instanceof Error ? cause.message : String(cause)}`);
    }
    try {
      await driver.verifyConnectivity({ database: opts.database });
      const graph = new Neo4jMemoryGraph(driver, opts.database, neo4j.bookmarkManager());
      await graph.ensureSchema();
      return graph;
    } catch (cause) {
      await driver.close().catch(() => undefined);
      const err = neo4jError(cause, `at ${opts.url} (database ${opts.database})`);
      if (err instanceof EngramError) throw err;
      throw new StorageError(`neo4j at ${opts.url}: ${err.message}`, { cause: err });
    }
  }

  /** Creates the constraints and indexes of `neo4jSchema()` (each in its own transaction: DDL may not mix). */
  async ensureSchema(): Promise<void> {
    for (const ddl of neo4jSchema()) {
      await this.transaction('WRITE', 'schema set-up', async (tx) => {
        await tx.run(ddl, {});
      });
    }
  }

  /** Closes the driver and its connections. Idempotent; later calls fail with a non-retriable error. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.driver.close();
    } catch (cause) {
      throw neo4jError(cause, 'close');
    }
  }

  // ------------------------------------------------------------ plumbing

  protected write<T>(op: string, fn: (tx: CypherRunner) => Promise<T>): Promise<T> {
    return this.transaction('WRITE', op, (tx) => fn(runner(tx)));
  }

  protected read<T>(op: string, fn: (tx: CypherRunner) => Promise<T>): Promise<T> {
    return this.transaction('READ', op, (tx) => fn(runner(tx)));
  }

  /**
   * One managed transaction in a fresh session. The driver retries `work` as a whole on transient
   * errors (so errors are mapped only after it gives up), and rolls back when `work` throws.
   */
  private async transaction<T>(mode: 'READ' | 'WRITE', op: string, work: (tx: Neo4jTx) => Promise<T>): Promise<T> {
    if (this.closed) throw new StorageError(`neo4j graph (database ${this.database}) is closed`, { retriable: false });
    const config: Neo4jSessionConfig = { database: this.database, defaultAccessMode: mode, bookmarkManager: this.bookmarkManager };
    const session = this.driver.session(config);
    try {
      return mode === 'WRITE' ? await session.executeWrite(work) : await session.executeRead(work);
    } catch (cause) {
      throw neo4jError(cause, op);
    } finally {
      await session.close().catch(() => undefined);
    }
  }
}

/** The shared functions' view of a transaction: plain parameters in, plain rows out. */
function runner(tx: Neo4jTx): CypherRunner {
  return {
    async run(statement, params) {
      const result = await tx.run(statement, toDriverParams(params));
      return result.records.map(toRow);
    },
  };
}
