/**
 * The cluster profile's ports (DESIGN.md §2): Kafka for the log, Qdrant for vectors, Neo4j for the
 * graph, the same offline embedder, and the memory store in SQLite on the roles' shared volume.
 * Each role opens only what it needs, and `ClusterResources` closes what was opened, in reverse.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DataDirError } from '../../core/errors.js';
import { TOPICS } from '../../core/model.js';
import type { Embedder, EventLog, LlmClient } from '../../core/ports.js';
import { requireCluster, type Config, type RequiredClusterSettings } from '../config.js';
import { KafkaEventLog, kafkaEventLogOptions } from '../cluster/kafka-event-log.js';
import { confluentFraming, FramedEventLog } from '../cluster/framed-event-log.js';
import { schemaRegistryFromConfig } from '../cluster/schema-registry.js';
import { QdrantVectorIndex } from '../cluster/qdrant-vector-index.js';
import { QdrantCheckpointStore } from '../cluster/qdrant-checkpoints.js';
import { Neo4jMemoryGraph } from '../cluster/neo4j-memory-graph.js';
import { openMemoryDb, type MemoryDb } from '../embedded/memory-db.js';
import { SqliteKeyStore } from '../embedded/key-store.js';
import { SqliteMemoryStore } from '../embedded/memory-store.js';
import { UseLiteEmbedder } from '../embedder/use-lite.js';
import { CachedEmbedder } from '../embedder/cached-embedder.js';
import { openDatabase } from '../sqlite/open.js';
import { createLlmClient } from '../llm/openai-client.js';
import { DATA_FILES } from './embedded.js';

/** Opened resources, closed in reverse order of opening. */
export class ClusterResources {
  private readonly closers: (() => Promise<void> | void)[] = [];
  readonly settings: RequiredClusterSettings;

  constructor(readonly config: Config) {
    this.settings = requireCluster(config);
  }

  /** Registers something to close. */
  track<T>(resource: T, close: (r: T) => Promise<void> | void): T {
    this.closers.push(() => close(resource));
    return resource;
  }

  /**
   * Kafka, with every Engram topic provisioned (idempotent). With a schema registry configured,
   * the catalogue is registered and the event topics carry Confluent-framed values.
   */
  async log(): Promise<EventLog> {
    const kafka = this.track(await KafkaEventLog.open(kafkaEventLogOptions({ logLevel: this.config.logLevel, cluster: this.settings })), (l) => l.close());
    for (const topic of Object.values(TOPICS)) await kafka.ensureTopic(topic, this.config.partitions);
    const registry = schemaRegistryFromConfig(this.settings);
    if (registry === null) return kafka;
    await registry.registerCatalogue();
    return new FramedEventLog(kafka, confluentFraming(registry), new Set([TOPICS.conversation, TOPICS.memory]));
  }

  /** The offline embedder with its cache in the data directory. */
  embedder(): { embedder: Embedder; model: UseLiteEmbedder } {
    this.dataDir();
    const model = new UseLiteEmbedder();
    const cachePath = join(this.config.dataDir, DATA_FILES.cache);
    const cacheDb = this.track(openDatabase(cachePath), (db) => {
      db.close();
    });
    return { embedder: new CachedEmbedder(model, cacheDb, cachePath), model };
  }

  /** The memory store (SQLite on the shared volume) and its checkpoints. */
  store(dimensions: number): { memoryDb: MemoryDb; store: SqliteMemoryStore } {
    this.dataDir();
    const memoryDb = this.track(openMemoryDb(join(this.config.dataDir, DATA_FILES.memory), dimensions), (db) => db.close());
    return { memoryDb, store: new SqliteMemoryStore(memoryDb) };
  }

  /** The users' data keys (SQLite on the shared volume, next to the memory store). */
  keys(): SqliteKeyStore {
    this.dataDir();
    return this.track(new SqliteKeyStore(join(this.config.dataDir, DATA_FILES.keys)), (k) => k.close());
  }

  /** Qdrant: the vector index for this embedding model, and the vector projector's checkpoints. */
  async vectors(embedder: Embedder): Promise<{ vectors: QdrantVectorIndex; checkpoints: QdrantCheckpointStore }> {
    const conn = { url: this.settings.qdrantUrl, apiKey: this.settings.qdrantApiKey };
    const vectors = await QdrantVectorIndex.open({ ...conn, modelId: embedder.modelId, dimensions: embedder.dimensions });
    // Checkpoints per collection: a new embedding model starts a new, empty collection, and its
    // projection must start from the beginning of the log, not where the old one stopped.
    const checkpoints = await QdrantCheckpointStore.open({ ...conn, collection: `${vectors.collection}_checkpoints` });
    return { vectors, checkpoints };
  }

  /** Neo4j: the memory graph, which also keeps the graph projector's checkpoints. */
  async graph(): Promise<Neo4jMemoryGraph> {
    return this.track(
      await Neo4jMemoryGraph.open({
        url: this.settings.neo4jUrl,
        user: this.settings.neo4jUser,
        password: this.settings.neo4jPassword,
        database: this.settings.neo4jDatabase,
      }),
      (g) => g.close(),
    );
  }

  /** The configured language model, or null for the offline write path (nothing to close). */
  llm(): LlmClient | null {
    return createLlmClient(this.config);
  }

  /** Closes everything opened, newest first; reports the first failure after trying all. */
  async close(): Promise<void> {
    let first: unknown;
    for (const close of this.closers.splice(0).reverse()) {
      try {
        await close();
      } catch (err) {
        first ??= err;
      }
    }
    if (first !== undefined) throw first;
  }

  private dataDir(): void {
    if (existsSync(this.config.dataDir)) return;
    try {
      mkdirSync(this.config.dataDir, { recursive: true });
    } catch (cause) {
      throw new DataDirError(`cannot create the data directory ${this.config.dataDir}: ${(cause as Error).message}`, { cause });
    }
  }
}
