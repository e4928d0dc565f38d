/**
 * Engram's query and publish surface on the cluster profile: publishes to Kafka, reads Qdrant, Neo4j
 * and the memory store. Processing happens in the other roles (ingest, worker, projectors).
 */
import type { ConversationEvent, LogPosition } from '../core/model.js';
import { TOPICS } from '../core/model.js';
import type { Embedder, EventLog, MemoryGraph, MemoryState, MemoryStore, Neighbourhood, VectorIndex } from '../core/ports.js';
import { scopeOf, type Scope } from '../core/scope.js';
import { memoryDetail, type MemoryDetail } from '../readmodels/memory-detail.js';
import { hybridSearch, type SearchHit, type SearchOptions } from '../readmodels/search.js';
import { conversationRecordsOf } from '../streams/publish.js';
import { assertDepth, readiness, type MemoryService, type ReadyReport } from './service.js';

export interface ClusterServiceDeps {
  readonly log: EventLog;
  readonly embedder: Embedder;
  readonly vectors: VectorIndex;
  readonly store: MemoryStore;
  readonly graph: MemoryGraph;
}

/** A scope no tenant can own (ids are validated), used only for readiness probes. */
const PROBE = scopeOf('engram-readyz', 'probe');

export class ClusterService implements MemoryService {
  constructor(private readonly deps: ClusterServiceDeps) {}

  publish(events: readonly ConversationEvent[]): Promise<LogPosition[]> {
    if (events.length === 0) return Promise.resolve([]);
    return this.deps.log.append(TOPICS.conversation, conversationRecordsOf(events));
  }

  search(scope: Scope, query: string, opts?: SearchOptions): Promise<SearchHit[]> {
    return hybridSearch(this.deps, scope, query, opts);
  }

  memory(scope: Scope, id: string): Promise<MemoryDetail> {
    return memoryDetail(this.deps.store, scope, id);
  }

  memories(scope: Scope, all = false): Promise<MemoryState[]> {
    return this.deps.store.list(scope, all ? { statuses: ['active', 'invalidated', 'quarantined', 'rejected'] } : { statuses: ['active'] });
  }

  neighbourhood(scope: Scope, entity: string, depth = 1): Promise<Neighbourhood> {
    assertDepth(depth);
    return this.deps.graph.neighbourhood(scope, entity, depth);
  }

  /** Kafka, Qdrant, Neo4j and the store each answer a trivial request. */
  ready(): Promise<ReadyReport> {
    return readiness({
      kafka: () => this.deps.log.partitions(TOPICS.conversation),
      qdrant: () => this.deps.vectors.searchText(PROBE, 'readiness', 1),
      neo4j: () => this.deps.graph.entities(PROBE, 1),
      store: () => this.deps.store.users(PROBE.tenantId),
    });
  }
}
