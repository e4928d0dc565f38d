/**
 * The cluster VectorIndex: Qdrant, one collection per embedding model and dimension, every tenant
 * in it (payload partitioning, `tenant` indexed with `is_tenant`). Each point has a dense named
 * vector `dense` (cosine) and a sparse vector `bm25` whose IDF Qdrant applies (bm25-sparse.ts), so
 * keyword search is BM25 over the same points and the same metadata filters as dense search.
 *
 * Scoping is absolute, as in the embedded index: point ids are UUIDv5 of (tenant, user, memory id),
 * so the same memory id in two scopes is two points and an upsert in one scope can never overwrite
 * another's; and every search, update and delete also filters on tenant and user.
 */
import {
  QdrantClient,
  QdrantClientConfigError,
  QdrantClientResourceExhaustedError,
  QdrantClientTimeoutError,
  QdrantClientUnexpectedResponseError,
} from '@qdrant/js-client-rest';
import type { Schemas } from '@qdrant/js-client-rest';
import { v5 as uuidv5 } from 'uuid';
import { ConfigError, EngramError, StorageError, ValidationError } from '../../core/errors.js';
import { ENGRAM_NAMESPACE, sha256Hex } from '../../core/ids.js';
import type { MemoryStatus } from '../../core/model.js';
import type { ScoredId, SearchFilter, VectorDoc, VectorIndex } from '../../core/ports.js';
import type { Scope } from '../../core/scope.js';
import { assertVector, clampK } from '../vector-checks.js';
import { documentVector, queryVector } from './bm25-sparse.js';
import type { SparseVector } from './bm25-sparse.js';
import {
  FIELD,
  assertScope,
  payloadOf,
  scopeConditions,
  scopedIdsFilter,
  searchFilterOf,
  statusPayloadOf,
} from './qdrant-filter.js';

/** Name of the dense named vector. */
export const DENSE_VECTOR = 'dense';
/** Name of the sparse (BM25) vector. */
export const SPARSE_VECTOR = 'bm25';

/** Largest `k` honoured by one search (the embedded index's bound, sqlite-vec's limit). */
export { MAX_K } from '../vector-checks.js';
/** Qdrant's largest dense vector size. */
const MAX_DIMENSIONS = 65_536;
/** Points per upsert request: bounds the request body for large batches. */
const UPSERT_BATCH = 256;
/** Per-request timeout unless configured. */
const DEFAULT_TIMEOUT_MS = 10_000;
/** Longest sanitised model id kept verbatim in a collection name. */
const MAX_MODEL_PART = 64;

/** How to reach Qdrant. */
export interface QdrantConnection {
  readonly url: string;
  readonly apiKey?: string;
  /** Per-request timeout in ms (default 10 s). */
  readonly timeoutMs?: number;
}

/** Where the index lives and which embedding model's vectors it holds. */
export interface QdrantVectorIndexOptions extends QdrantConnection {
  /** The embedder's model id (configuration, never user data). */
  readonly modelId: string;
  readonly dimensions: number;
}

/** A payload index the memory collection needs. */
export interface PayloadIndexSpec {
  readonly field: string;
  readonly schema: Schemas['PayloadFieldSchema'];
}

/** Payload indexes of the memory collection: scope (tenant-optimised), filters, time axes, full text. */
export const MEMORY_PAYLOAD_INDEXES: readonly PayloadIndexSpec[] = [
  { field: FIELD.tenant, schema: { type: 'keyword', is_tenant: true } },
  { field: FIELD.user, schema: 'keyword' },
  { field: FIELD.kind, schema: 'keyword' },
  { field: FIELD.granularity, schema: 'keyword' },
  { field: FIELD.status, schema: 'keyword' },
  { field: FIELD.validFrom, schema: 'integer' },
  { field: FIELD.validTo, schema: 'integer' },
  { field: FIELD.recordedAt, schema: 'integer' },
  { field: FIELD.supersededAt, schema: 'integer' },
  // For operators' text filters (dashboard, `match: { text }`); ranking uses the sparse vector.
  { field: FIELD.text, schema: { type: 'text', tokenizer: 'word', lowercase: true } },
];

/**
 * `engram_memories_<model>_<dims>`, the model id lower-cased with every other character than
 * [a-z0-9_] turned into `_`; a very long id keeps a prefix and a hash of the whole id.
 */
export function collectionNameOf(modelId: string, dimensions: number): string {
  if (typeof modelId !== 'string' || modelId.trim() === '') throw new ConfigError('the embedding model id is empty');
  assertDimensions(dimensions);
  let model = modelId
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/_+/g, '_')
    .replace(/^_|_$/g, '');
  if (model === '') model = `m${sha256Hex(modelId).slice(0, 12)}`;
  if (model.length > MAX_MODEL_PART) model = `${model.slice(0, MAX_MODEL_PART - 13)}_${sha256Hex(modelId).slice(0, 12)}`;
  return `engram_memories_${model}_${dimensions}`;
}

/** The point id of a memory in a scope: UUIDv5 of tenant, user and memory id (deterministic, scoped). */
export function pointIdOf(scope: Scope, memoryId: string): string {
  return uuidv5(['vector-point', scope.tenantId, scope.userId, memoryId].join('\u001f'), ENGRAM_NAMESPACE);
}

/** The collection's vectors: `dense` (cosine) and `bm25` (sparse, IDF applied by Qdrant). */
export function memoryCollectionConfig(dimensions: number): Schemas['CreateCollection'] {
  assertDimensions(dimensions);
  return {
    vectors: { [DENSE_VECTOR]: { size: dimensions, distance: 'Cosine' } },
    sparse_vectors: { [SPARSE_VECTOR]: { modifier: 'idf' } },
  };
}

/**
 * The point of a document (validated metadata; the caller checks the vector's dimensions). A zero
 * embedding has no cosine, so the point gets no dense vector and dense search never returns it; a
 * text without words gets no sparse vector.
 */
export function pointOf(scope: Scope, doc: VectorDoc): Schemas['PointStruct'] {
  const payload = payloadOf(scope, doc);
  const vector: Record<string, number[] | SparseVector> = {};
  if (doc.embedding.some((x) => x !== 0)) vector[DENSE_VECTOR] = [...doc.embedding];
  const sparse = documentVector(doc.text);
  if (sparse.indices.length > 0) vector[SPARSE_VECTOR] = sparse;
  return { id: pointIdOf(scope, doc.id), vector, payload: { ...payload } };
}

/** A Qdrant client with a request timeout and no version probe (which would log on failure). */
export function createQdrantClient(conn: QdrantConnection): QdrantClient {
  const timeout = conn.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(timeout) || timeout <= 0) throw new ConfigError(`Qdrant timeout must be positive, got ${timeout}`);
  try {
    return new QdrantClient({ url: conn.url, apiKey: conn.apiKey, timeout, checkCompatibility: false });
  } catch (cause) {
    throw qdrantError(cause, 'connect');
  }
}

/**
 * Maps anything the Qdrant client throws to the error root: timeouts, rate limits, network
 * failures and 5xx are retriable StorageErrors; other 4xx are not (retrying the same request
 * cannot help); a bad client configuration is a ConfigError.
 */
export function qdrantError(cause: unknown, op: string): EngramError {
  if (cause instanceof EngramError) return cause;
  if (cause instanceof QdrantClientConfigError) return new ConfigError(`Qdrant client: ${cause.message}`);
  if (cause instanceof QdrantClientTimeoutError) {
    return new StorageError(`Qdrant ${op} timed out`, { retriable: true, cause, details: { op } });
  }
  if (cause instanceof QdrantClientResourceExhaustedError) {
    return new StorageError(`Qdrant ${op} was rate limited (retry after ${cause.retry_after} s)`, {
      retriable: true,
      cause,
      details: { op, status: 429 },
    });
  }
  const status = httpStatusOf(cause);
  if (status !== null) {
    const retriable = status >= 500 || status === 408 || status === 429;
    const reason = serverReasonOf(cause);
    return new StorageError(`Qdrant ${op} failed: HTTP ${status}${reason === null ? '' : `: ${reason}`}`, {
      retriable,
      cause,
      details: { op, status },
    });
  }
  return new StorageError(`Qdrant ${op} failed: ${networkReasonOf(cause)}`, { retriable: true, cause, details: { op } });
}

/** QdrantVectorIndex implements VectorIndex over one Qdrant collection. */
export class QdrantVectorIndex implements VectorIndex {
  private constructor(
    private readonly client: QdrantClient,
    /** The collection of this model and dimension. */
    readonly collection: string,
    readonly dimensions: number,
    /**
     * True when this `open` created the collection: the index is empty, so a projector whose
     * checkpoints say otherwise (e.g. after switching embedding models) must replay from 0.
     */
    readonly created: boolean,
  ) {}

  /** Connects, creating the collection and its payload indexes when missing (idempotent, race-safe). */
  static async open(opts: QdrantVectorIndexOptions): Promise<QdrantVectorIndex> {
    const collection = collectionNameOf(opts.modelId, opts.dimensions);
    const client = createQdrantClient(opts);
    const created = await ensureMemoryCollection(client, collection, opts.dimensions);
    return new QdrantVectorIndex(client, collection, opts.dimensions, created);
  }

  /** Inserts or replaces documents; all are validated before anything is written. */
  async upsert(scope: Scope, docs: readonly VectorDoc[]): Promise<void> {
    assertScope(scope);
    // Last write of an id wins within a batch, as when the embedded index applies them in order.
    const byId = new Map<string, Schemas['PointStruct']>();
    for (const doc of docs) {
      assertVector(doc?.embedding, this.dimensions, doc?.id);
      const point = pointOf(scope, doc);
      byId.delete(doc.id);
      byId.set(doc.id, point);
    }
    const points = [...byId.values()];
    for (let i = 0; i < points.length; i += UPSERT_BATCH) {
      const chunk = points.slice(i, i + UPSERT_BATCH);
      await this.call('upsert', () => this.client.upsert(this.collection, { wait: true, points: chunk }));
    }
  }

  /** Deletes documents of this scope; unknown ids (and other scopes' points) are untouched. */
  async remove(scope: Scope, ids: readonly string[]): Promise<void> {
    assertScope(scope);
    for (const id of ids) assertId(id);
    if (ids.length === 0) return;
    const filter = scopedIdsFilter(scope, [...new Set(ids)].map((id) => pointIdOf(scope, id)));
    await this.call('delete', () => this.client.delete(this.collection, { wait: true, filter }));
  }

  /** Changes status and validity of an indexed document; a no-op when it is absent. */
  async setStatus(
    scope: Scope,
    id: string,
    status: MemoryStatus,
    validTo: number | null,
    supersededAt: number | null,
  ): Promise<void> {
    assertScope(scope);
    assertId(id);
    const payload = statusPayloadOf(status, validTo, supersededAt);
    // By filter, not by point id: a filter that matches nothing is a no-op, an absent id an error.
    const filter = scopedIdsFilter(scope, [pointIdOf(scope, id)]);
    await this.call('set payload', () => this.client.setPayload(this.collection, { wait: true, payload, filter }));
  }

  /** Nearest neighbours by cosine similarity (score = cosine), filters applied inside the search. */
  async searchDense(scope: Scope, vector: readonly number[], k: number, filter?: SearchFilter): Promise<ScoredId[]> {
    assertScope(scope);
    assertVector(vector, this.dimensions);
    const limit = clampK(k);
    const where = searchFilterOf(scope, filter);
    // A zero vector has no cosine: it is similar to nothing.
    if (limit === 0 || where === null || vector.every((x) => x === 0)) return [];
    const res = await this.call('search', () =>
      this.client.query(this.collection, {
        query: [...vector],
        using: DENSE_VECTOR,
        filter: where,
        limit,
        with_payload: [FIELD.memoryId],
      }),
    );
    return hitsOf(res.points);
  }

  /** Keyword search with BM25 (positive scores, higher is better); the query text is only ever hashed terms. */
  async searchText(scope: Scope, query: string, k: number, filter?: SearchFilter): Promise<ScoredId[]> {
    assertScope(scope);
    if (typeof query !== 'string') throw new ValidationError('query must be a string', { field: 'query' });
    const sparse = queryVector(query);
    const limit = clampK(k);
    const where = searchFilterOf(scope, filter);
    if (sparse === null || limit === 0 || where === null) return [];
    const res = await this.call('search', () =>
      this.client.query(this.collection, {
        query: { indices: sparse.indices, values: sparse.values },
        using: SPARSE_VECTOR,
        filter: where,
        limit,
        with_payload: [FIELD.memoryId],
      }),
    );
    // Only documents sharing a term with the query are hits (a full-scan plan may score others 0).
    return hitsOf(res.points).filter((h) => h.score !== 0);
  }

  /**
   * Deletes every point of every scope (before a replay rebuilds the index) by dropping and
   * re-creating the collection: storage is released at once (erasure), and the IDF statistics
   * start from zero, which deleting points does not guarantee (qdrant/qdrant#6735). Meant for
   * rebuilds with the projectors stopped: a request in the gap fails with a StorageError.
   */
  async clear(): Promise<void> {
    try {
      await this.client.deleteCollection(this.collection);
    } catch (cause) {
      const err = qdrantError(cause, `drop collection ${this.collection}`);
      if (err.details.status !== 404) throw err;
    }
    await ensureMemoryCollection(this.client, this.collection, this.dimensions);
  }

  /** Number of indexed documents of a scope (for stats and tests). */
  async count(scope: Scope): Promise<number> {
    const filter = { must: scopeConditions(scope) };
    const res = await this.call('count', () => this.client.count(this.collection, { filter, exact: true }));
    return res.count;
  }

  /** Drops the whole collection (tests and decommissioning; `open` creates it again). */
  async drop(): Promise<void> {
    await this.call('drop collection', () => this.client.deleteCollection(this.collection));
  }

  private async call<T>(op: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (cause) {
      throw qdrantError(cause, `${op} on ${this.collection}`);
    }
  }
}

/** Creates the memory collection if missing (tolerating a concurrent create), checks it, adds missing indexes. */
async function ensureMemoryCollection(client: QdrantClient, name: string, dimensions: number): Promise<boolean> {
  const guard = async <T>(op: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (cause) {
      throw qdrantError(cause, `${op} ${name}`);
    }
  };
  const created = await ensureCollection(client, name, memoryCollectionConfig(dimensions));
  const info = await guard('describe collection', () => client.getCollection(name));
  assertCompatible(info, name, dimensions);
  for (const index of MEMORY_PAYLOAD_INDEXES) {
    if (info.payload_schema?.[index.field] !== undefined) continue;
    await guard('create payload index on', () =>
      client.createPayloadIndex(name, { field_name: index.field, field_schema: index.schema, wait: true }),
    );
  }
  return created;
}

/**
 * Creates a collection unless it exists; true when this call created it. Two processes may race
 * to create it: the loser's create fails (409, or 400 on older servers), and it goes on when the
 * collection exists after all.
 */
export async function ensureCollection(
  client: QdrantClient,
  name: string,
  config: Schemas['CreateCollection'],
): Promise<boolean> {
  try {
    if ((await client.collectionExists(name)).exists) return false;
  } catch (cause) {
    throw qdrantError(cause, `check collection ${name}`);
  }
  try {
    await client.createCollection(name, config);
    return true;
  } catch (cause) {
    let exists = false;
    try {
      exists = (await client.collectionExists(name)).exists;
    } catch {
      // Report the create failure, which is the interesting one.
    }
    if (!exists) throw qdrantError(cause, `create collection ${name}`);
    return false;
  }
}

/** Throws a ConfigError when an existing collection was made with other vectors than this index needs. */
function assertCompatible(info: Schemas['CollectionInfo'], name: string, dimensions: number): void {
  const vectors = info.config?.params?.vectors as Record<string, Schemas['VectorParams'] | undefined> | undefined;
  const dense = vectors?.[DENSE_VECTOR];
  const sparse = info.config?.params?.sparse_vectors?.[SPARSE_VECTOR];
  if (dense === undefined || dense.size !== dimensions || dense.distance !== 'Cosine') {
    throw new ConfigError(
      `Qdrant collection ${name} has no ${dimensions}-d cosine vector "${DENSE_VECTOR}": it was created by something else`,
      { collection: name },
    );
  }
  if (sparse === undefined || sparse.modifier !== 'idf') {
    throw new ConfigError(`Qdrant collection ${name} has no sparse vector "${SPARSE_VECTOR}" with the IDF modifier`, {
      collection: name,
    });
  }
}

/** Search hits as ScoredIds, best first, ties by id (stable across runs). */
function hitsOf(points: readonly Schemas['ScoredPoint'][]): ScoredId[] {
  const hits: ScoredId[] = [];
  for (const p of points) {
    const id = p.payload?.[FIELD.memoryId];
    if (typeof id === 'string' && Number.isFinite(p.score)) hits.push({ id, score: p.score });
  }
  return hits.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function assertDimensions(dimensions: number): void {
  if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > MAX_DIMENSIONS) {
    throw new ValidationError(`embedding dimensions must be an integer in 1..${MAX_DIMENSIONS}, got ${dimensions}`, {
      field: 'dimensions',
    });
  }
}

function assertId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || id === '') throw new ValidationError('memory id must be a non-empty string', { field: 'id' });
}

/** The HTTP status of a failed request (the fetcher's ApiError has it; the client's own error only says it). */
function httpStatusOf(cause: unknown): number | null {
  if (typeof cause === 'object' && cause !== null && 'status' in cause && typeof cause.status === 'number') {
    return cause.status;
  }
  if (cause instanceof QdrantClientUnexpectedResponseError) {
    const m = /Unexpected Response: (\d{3})/.exec(cause.message);
    if (m?.[1] !== undefined) return Number(m[1]);
  }
  return null;
}

/** Qdrant's own error text (`{ status: { error } }`), shortened. */
function serverReasonOf(cause: unknown): string | null {
  const data = (cause as { data?: { status?: { error?: unknown } } } | null)?.data;
  const reason = data?.status?.error;
  return typeof reason === 'string' && reason !== '' ? reason.slice(0, 300) : null;
}

/** "fetch failed (ECONNREFUSED)" rather than a bare "fetch failed". */
function networkReasonOf(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  const inner = cause.cause as { code?: unknown; message?: unknown } | undefined;
  const code = typeof inner?.code === 'string' ? inner.code : typeof inner?.message === 'string' ? inner.message : null;
  return code === null ? cause.message : `${cause.message} (${code})`;
}
