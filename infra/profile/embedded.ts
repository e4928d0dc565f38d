/**
 * The embedded profile's ports, all in one data directory: the SQLite log, the durable runner's
 * journal, memory.db (store + sqlite-vec + FTS5), the LadybugDB graph and the embedding cache.
 */
import { existsSync, mkdirSync, accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { SqliteKeyStore } from '../embedded/key-store.js';
import { DataDirError } from '../../core/errors.js';
import type { Clock } from '../../core/random.js';
import { systemClock } from '../../core/random.js';
import type { Embedder } from '../../core/ports.js';
import { SqliteEventLog } from '../embedded/event-log.js';
import { DurableRunner } from '../embedded/durable-runner.js';
import { openMemoryDb, type MemoryDb } from '../embedded/memory-db.js';
import { SqliteVectorIndex } from '../embedded/vector-index.js';
import { SqliteMemoryStore } from '../embedded/memory-store.js';
import { LadybugMemoryGraph } from '../embedded/memory-graph.js';
import { UseLiteEmbedder } from '../embedder/use-lite.js';
import { CachedEmbedder } from '../embedder/cached-embedder.js';
import { openDatabase, type Db } from '../sqlite/open.js';

export interface EmbeddedPorts {
  readonly dataDir: string;
  readonly clock: Clock;
  readonly log: SqliteEventLog;
  readonly runner: DurableRunner;
  readonly memoryDb: MemoryDb;
  readonly vectors: SqliteVectorIndex;
  readonly store: SqliteMemoryStore;
  readonly graph: LadybugMemoryGraph;
  /** Users' data keys (crypto-shredding); apart from the data they seal. */
  readonly keys: SqliteKeyStore;
  readonly embedder: Embedder;
  /** The model behind the cache: its call counter shows whether a model was used. */
  readonly model: UseLiteEmbedder;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Create the directory if missing (writers); readers want a clear error instead. */
  readonly create: boolean;
  readonly clock?: Clock;
  /** Replaces the offline model (tests may inject a counting wrapper). */
  readonly embedder?: UseLiteEmbedder;
}

/** The files and folders of a data directory. */
export const DATA_FILES = {
  log: 'log.db',
  runner: 'runner.db',
  memory: 'memory.db',
  graph: 'graph',
  cache: 'embeddings.db',
  keys: 'keys.db',
} as const;

/** Opens every embedded port over one data directory, with clear errors for unusable ones. */
export async function openEmbeddedPorts(dataDir: string, opts: OpenOptions): Promise<EmbeddedPorts> {
  if (!existsSync(dataDir)) {
    if (!opts.create) {
      throw new DataDirError(`no Engram data directory at ${dataDir}: run \`engram publish FILE\` or \`engram demo\` first, or pass --data-dir`);
    }
    try {
      mkdirSync(dataDir, { recursive: true });
    } catch (cause) {
      throw new DataDirError(`cannot create the data directory ${dataDir}: ${(cause as Error).message}`, { cause });
    }
  } else if (!existsSync(join(dataDir, DATA_FILES.log)) && !opts.create) {
    throw new DataDirError(`${dataDir} is not an Engram data directory (no ${DATA_FILES.log}); run \`engram publish FILE\` first`);
  }
  if (opts.create) {
    try {
      accessSync(dataDir, constants.W_OK);
    } catch (cause) {
      throw new DataDirError(`the data directory ${dataDir} is not writable`, { cause });
    }
  }
  const clock = opts.clock ?? systemClock;
  const opened: { close(): unknown }[] = [];
  try {
    const log = SqliteEventLog.open(join(dataDir, DATA_FILES.log), { clock });
    opened.push(log);
    const runner = DurableRunner.open(join(dataDir, DATA_FILES.runner), { clock });
    opened.push(runner);
    const model = opts.embedder ?? new UseLiteEmbedder();
    const memoryDb = openMemoryDb(join(dataDir, DATA_FILES.memory), model.dimensions);
    opened.push(memoryDb);
    // Dense candidates are rescored on the second core (the model's, idle once a query is embedded).
    const vectors = new SqliteVectorIndex(memoryDb, { rescoreThread: true });
    opened.push(vectors);
    const store = new SqliteMemoryStore(memoryDb);
    const graph = await LadybugMemoryGraph.open(join(dataDir, DATA_FILES.graph));
    opened.push(graph);
    const cachePath = join(dataDir, DATA_FILES.cache);
    const cacheDb: Db = openDatabase(cachePath);
    opened.push(cacheDb);
    const embedder = new CachedEmbedder(model, cacheDb, cachePath);
    const keys = new SqliteKeyStore(join(dataDir, DATA_FILES.keys));
    opened.push(keys);
    return {
      dataDir,
      clock,
      log,
      runner,
      memoryDb,
      vectors,
      store,
      graph,
      keys,
      embedder,
      model,
      async close() {
        await graph.close();
        keys.close();
        cacheDb.close();
        await vectors.close();
        memoryDb.close();
        runner.close();
        await log.close();
      },
    };
  } catch (err) {
    for (const o of opened.reverse()) {
      try {
        await o.close();
      } catch {
        // Already failing: the first error is the one to report.
      }
    }
    throw err;
  }
}
