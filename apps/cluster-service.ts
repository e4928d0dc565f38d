/**
 * Engram's query and publish surface on the cluster profile: publishes to Kafka, reads Qdrant, Neo4j
 * and the memory store. Processing happens in the other roles (ingest, worker, projectors).
 */
import type { ConversationEvent, LogPosition } from '../core/model.js';
import { TOPICS } from '../core/model.js';
import type { Embedder, EventLog, MemoryGraph, MemoryState, MemoryStore, Neighbourhood, VectorIndex } from '../core/ports.js';
import { scopeOf, type Scope } from '../core/scope.js';
import type { MemoryDetail } from '../readmodels/memory-detail.js';
import { ReadModels } from '../readmodels/read-models.js';
import type { SearchHit, SearchOptions } from '../readmodels/search.js';
import { conversationRecordsOf } from '../streams/publish.js';
import { readiness, type MemoryService, type ReadyReport } from './service.js';

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
  private readonly reads: ReadModels;

  constructor(private readonly deps: ClusterServiceDeps) {
    this.reads = new ReadModels(deps);
  }

  publish(events: readonly ConversationEvent[]): Promise<LogPosition[]> {
    if (events.length === 0) return Promise.resolve([]);
    return this.deps.log.append(TOPICS.conversation, conversationRecordsOf(events));
  }

  search(scope: Scope, query: string, opts?: SearchOptions): Promise<SearchHit[]> {
    return this.reads.search(scope, query, opts);
  }

  memory(scope: Scope, id: string): Promise<MemoryDetail> {
    return this.reads.memory(scope, id);
  }

  memories(scope: Scope, all = false): Promise<MemoryState[]> {
    return this.reads.memories(scope, all);
  }

  neighbourhood(scope: Scope, entity: string, depth = 1): Promise<Neighbourhood> {
    return this.reads.neighbourhood(scope, entity, depth);
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
