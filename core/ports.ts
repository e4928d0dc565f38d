/**
 * Ports: what the activities, projectors and read models need from the outside world.
 * Only `infra/` implements them (embedded: SQLite, sqlite-vec, LadybugDB; cluster: Kafka,
 * Temporal, Qdrant, Neo4j). Every method that touches memory data takes the Scope first.
 */
import type {
  AssociationLink,
  Granularity,
  Lesson,
  LogPosition,
  Memory,
  MemoryEvent,
  MemoryKind,
  MemoryStatus,
  Triple,
} from './model.js';
import type { Scope } from './scope.js';

// ---------------------------------------------------------------- EventLog

/** A record to append. `dedupKey`, when given, makes the append idempotent where the log allows. */
export interface AppendRecord {
  readonly key: string;
  readonly value: Uint8Array;
  readonly headers?: Readonly<Record<string, string>>;
  readonly dedupKey?: string;
}

/** A record as stored in the log. */
export interface LogRecord extends LogPosition {
  readonly key: string;
  readonly value: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
  /** Append time, ms since epoch. */
  readonly timestamp: number;
}

/** A consumer in a consumer group: fetch past the committed offsets, commit after the effect. */
export interface LogConsumer {
  /** Up to `max` records past the group's committed offsets, in offset order per partition. */
  fetch(max: number): Promise<LogRecord[]>;
  /** Commits, for each record's partition, the offset after it. Never moves an offset backwards. */
  commit(records: readonly LogPosition[]): Promise<void>;
  /** Records not yet committed by this group, over all partitions. */
  lag(): Promise<number>;
}

/** Topics, partitions by key hash, offsets, consumer groups (Kafka's model). */
export interface EventLog {
  ensureTopic(topic: string, partitions: number): Promise<void>;
  /** Appends records; each lands in the partition of its key. Returns their positions in order. */
  append(topic: string, records: readonly AppendRecord[]): Promise<LogPosition[]>;
  /** Reads one partition from an offset (for projectors and replay, which keep their own checkpoints). */
  read(topic: string, partition: number, fromOffset: number, max: number): Promise<LogRecord[]>;
  partitions(topic: string): Promise<number>;
  /** The offset the next record of that partition will get. */
  endOffset(topic: string, partition: number): Promise<number>;
  consumer(group: string, topic: string): LogConsumer;
  close(): Promise<void>;
}

// ---------------------------------------------------------------- Embedder

/** Turns texts into vectors. Outputs are recorded in events; rebuilds never call it. */
export interface Embedder {
  readonly modelId: string;
  readonly dimensions: number;
  /** One vector per text, Float32-rounded, in input order. */
  embed(texts: readonly string[]): Promise<number[][]>;
}

// ---------------------------------------------------------------- LlmClient

/** One chat message sent to a language model. */
export interface LlmMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

/** A request for structured (JSON) output, described by a JSON schema. */
export interface LlmRequest {
  readonly messages: readonly LlmMessage[];
  /** Name of the output schema (letters, digits, `_`, `-`). */
  readonly schemaName: string;
  /** JSON schema of the expected output object. */
  readonly schema: Readonly<Record<string, unknown>>;
  readonly maxTokens?: number;
}

/** What the model returned: the raw content (not yet validated) and token counts. */
export interface LlmResponse {
  readonly content: string;
  readonly model: string;
  readonly promptTokens: number;
  readonly completionTokens: number;
}

/** An OpenAI-compatible chat model. Optional: the offline path works without one. */
export interface LlmClient {
  readonly model: string;
  complete(request: LlmRequest): Promise<LlmResponse>;
}

// ---------------------------------------------------------------- KeyStore

/**
 * Per-user data keys for crypto-shredding (DESIGN.md erasure): log records holding a user's text
 * are sealed with keys from the user's keyring; destroying a key makes those records unreadable.
 * Key ids: `user` (the user's own key), `msg:<messageId>`, `mem:<memoryId>`.
 */
export interface KeyStore {
  /** The keys for these ids, each created (32 random bytes) when absent. */
  obtain(scope: Scope, keyIds: readonly string[]): Promise<Map<string, Uint8Array>>;
  /** The key, or null when it never existed or was destroyed. */
  get(scope: Scope, keyId: string): Promise<Uint8Array | null>;
  /** Destroys these keys; returns how many existed. Idempotent. */
  destroy(scope: Scope, keyIds: readonly string[]): Promise<number>;
  /** Destroys the user's whole keyring; returns how many keys existed. Idempotent. */
  destroyAll(scope: Scope): Promise<number>;
}

// ---------------------------------------------------------------- VectorIndex

/** What the vector index stores of a memory. */
export interface VectorDoc {
  readonly id: string;
  readonly text: string;
  readonly embedding: readonly number[];
  readonly kind: MemoryKind;
  readonly granularity: Granularity;
  readonly status: MemoryStatus;
  readonly validFrom: number;
  readonly validTo: number | null;
  readonly recordedAt: number;
  readonly supersededAt: number | null;
}

/** Metadata filter for searches. Missing fields do not filter. */
export interface SearchFilter {
  readonly kinds?: readonly MemoryKind[];
  readonly granularities?: readonly Granularity[];
  /** Default: only `active`. */
  readonly statuses?: readonly MemoryStatus[];
  /** World time: only memories valid at this instant. */
  readonly validAt?: number;
  /** System time: only memories Engram knew at this instant and had not superseded. */
  readonly knownAt?: number;
}

export interface ScoredId {
  readonly id: string;
  /** Higher is better; for dense search, cosine similarity. */
  readonly score: number;
}

export interface VectorIndex {
  upsert(scope: Scope, docs: readonly VectorDoc[]): Promise<void>;
  remove(scope: Scope, ids: readonly string[]): Promise<void>;
  /** Changes lifecycle and validity metadata of an indexed memory (no-op when absent). */
  setStatus(
    scope: Scope,
    id: string,
    status: MemoryStatus,
    validTo: number | null,
    supersededAt: number | null,
  ): Promise<void>;
  /** Nearest neighbours by cosine similarity. */
  searchDense(scope: Scope, vector: readonly number[], k: number, filter?: SearchFilter): Promise<ScoredId[]>;
  /** Keyword search (BM25). */
  searchText(scope: Scope, query: string, k: number, filter?: SearchFilter): Promise<ScoredId[]>;
  /** Optional: how many documents match `filter`, counting no further than `limit` (cheaper than a KNN probe). */
  countAtMost?(scope: Scope, limit: number, filter?: SearchFilter): Promise<number>;
  /**
   * Optional: keyword search for several granularities in one pass, the best `k` of each (the same
   * lists as one `searchText` per granularity with `granularities: [g]`).
   */
  searchTextByGranularity?(scope: Scope, query: string, k: number, granularities: readonly Granularity[], filter?: SearchFilter): Promise<Map<Granularity, ScoredId[]>>;
  /** Optional: a projector batch of writes in one transaction (same result as the single calls in order). */
  applyWrites?(writes: readonly VectorWrite[]): void | Promise<void>;
}

/** One write of a projector batch (the VectorIndex port's upsert, setStatus and remove, for one scope). */
export type VectorWrite =
  | { readonly op: 'upsert'; readonly scope: Scope; readonly doc: VectorDoc }
  | {
      readonly op: 'status';
      readonly scope: Scope;
      readonly id: string;
      readonly status: MemoryStatus;
      readonly validTo: number | null;
      readonly supersededAt: number | null;
    }
  | { readonly op: 'remove'; readonly scope: Scope; readonly id: string };


// ---------------------------------------------------------------- MemoryStore

/** The current state of a memory: its latest version and lifecycle. */
export interface MemoryState {
  readonly memory: Memory;
  readonly status: MemoryStatus;
  /** Latest version number including lifecycle changes (invalidation, restore…). */
  readonly version: number;
  readonly quarantineReasons: readonly string[];
  readonly decisionReason: string;
  readonly invalidatedBy: string | null;
  readonly clusters: readonly { component: number; weight: number }[];
  readonly links: readonly AssociationLink[];
  /** Retrievals recorded since the stored strength was last set (forgetting curve). */
  readonly accesses?: number;
  /** Latest of recorded, reinforced and retrieved (system time, ms). */
  readonly lastTouchedAt?: number;
}

/** Tokens a tenant's pipeline spent on one model for one purpose. */
export interface ModelUsageTotal {
  readonly model: string;
  readonly purpose: string;
  readonly calls: number;
  readonly promptTokens: number;
  readonly completionTokens: number;
}

/** One entry of a memory's history. */
export interface MemoryVersion {
  readonly version: number;
  readonly type: MemoryEvent['payload']['type'];
  readonly recordedAt: number;
  readonly status: MemoryStatus;
  readonly text: string;
  readonly validFrom: number;
  readonly validTo: number | null;
  readonly reason: string;
  readonly eventId: string;
}

export interface ListOptions {
  readonly statuses?: readonly MemoryStatus[];
  readonly kinds?: readonly MemoryKind[];
  readonly limit?: number;
}

/** Current memory state and version history, plus lessons and the latest cluster model. */
export interface MemoryStore {
  get(scope: Scope, id: string): Promise<MemoryState | null>;
  getMany(scope: Scope, ids: readonly string[]): Promise<MemoryState[]>;
  history(scope: Scope, id: string): Promise<MemoryVersion[]>;
  list(scope: Scope, opts?: ListOptions): Promise<MemoryState[]>;
  /** Active facts with this subject and predicate (for conflict resolution). */
  factsAbout(scope: Scope, subject: string, predicate: string): Promise<MemoryState[]>;
  /** Memories with a source from this message (for edits, redactions, forgetting). */
  bySourceMessage(scope: Scope, messageId: string): Promise<MemoryState[]>;
  /** Memories that `memoryId` invalidated (to restore them when it goes away). */
  invalidatedBy(scope: Scope, memoryId: string): Promise<MemoryState[]>;
  /** Active memories whose normalised text hash equals this one. */
  byTextHash(scope: Scope, textHash: string): Promise<MemoryState[]>;
  lessons(scope: Scope): Promise<Lesson[]>;
  /** The latest `ClusterModelFitted` parameters for this user, if any. */
  clusterModel(scope: Scope): Promise<{ modelId: string; parameters: string; memoryCount: number } | null>;
  /** Users known to a tenant (for the demo and listings). */
  users(tenantId: string): Promise<string[]>;
  /** Language-model tokens metered for a tenant, per model and purpose. */
  modelUsage(tenantId: string): Promise<ModelUsageTotal[]>;
}

// ---------------------------------------------------------------- MemoryGraph

/** What the graph holds of one memory version. */
export interface GraphMemory {
  readonly id: string;
  readonly text: string;
  readonly kind: MemoryKind;
  readonly status: MemoryStatus;
  readonly entities: readonly string[];
  readonly triple: Triple | null;
  readonly validFrom: number;
  readonly validTo: number | null;
  readonly recordedAt: number;
  readonly supersededAt: number | null;
  readonly sourceMessageIds: readonly string[];
}

export interface GraphNode {
  readonly id: string;
  readonly label: 'Entity' | 'Memory';
  readonly name: string;
  readonly status?: MemoryStatus;
}

export interface GraphEdge {
  readonly from: string;
  readonly to: string;
  readonly type: 'MENTIONS' | 'RELATES' | 'ASSOCIATED';
  readonly predicate?: string;
  readonly weight?: number;
  readonly validFrom?: number;
  readonly validTo?: number | null;
  readonly memoryId?: string;
}

export interface Neighbourhood {
  readonly nodes: readonly GraphNode[];
  readonly edges: readonly GraphEdge[];
}

export interface MemoryGraph {
  /** Creates or replaces a memory node with its entities, fact edge and provenance. Idempotent. */
  upsertMemory(scope: Scope, memory: GraphMemory): Promise<void>;
  /** Updates lifecycle and validity of a memory node and its fact edge. */
  setStatus(
    scope: Scope,
    memoryId: string,
    status: GraphMemory['status'],
    validTo: number | null,
    supersededAt: number | null,
  ): Promise<void>;
  /** Weighted association edges from a memory. Idempotent. */
  link(scope: Scope, memoryId: string, links: readonly AssociationLink[]): Promise<void>;
  /** Removes a memory node and its edges entirely (erasure). */
  removeMemory(scope: Scope, memoryId: string): Promise<void>;
  /** Entities and memories within `depth` hops of an entity. Only active memories unless asked. */
  neighbourhood(scope: Scope, entity: string, depth: number, includeInactive?: boolean): Promise<Neighbourhood>;
  /** Memories linked to these memories through entities or associations (graph expansion). */
  related(scope: Scope, memoryIds: readonly string[], limit: number): Promise<ScoredId[]>;
  /** Entities of a user, most mentioned first. */
  entities(scope: Scope, limit: number): Promise<{ name: string; mentions: number }[]>;
  /** Optional: a projector batch of operations in one transaction (same result as the single calls in order). */
  applyOps?(ops: readonly GraphOp[]): Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------- checkpoints

/** A projector's position per partition, kept with its effect. */
export interface CheckpointStore {
  checkpoint(projector: string, topic: string, partition: number): Promise<number>;
  saveCheckpoint(projector: string, topic: string, partition: number, nextOffset: number): Promise<void>;
}

/** One graph write, as the projector derives it from a memory event. */
export type GraphOp =
  | { readonly op: 'upsert'; readonly scope: Scope; readonly memory: GraphMemory }
  | {
      readonly op: 'status';
      readonly scope: Scope;
      readonly memoryId: string;
      readonly status: MemoryStatus;
      readonly validTo: number | null;
      readonly supersededAt: number | null;
    }
  | { readonly op: 'link'; readonly scope: Scope; readonly memoryId: string; readonly links: readonly AssociationLink[] }
  | { readonly op: 'remove'; readonly scope: Scope; readonly memoryId: string };
