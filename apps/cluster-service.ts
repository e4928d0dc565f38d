/**
 * Engram's query and publish surface on the cluster profile: publishes to Kafka, reads Qdrant, Neo4j
 * and the memory store. Processing happens in the other roles (ingest, worker, projectors).
 */
import type { ConversationEvent, LogPosition } from '../core/model.js';
import { TOPICS } from '../core/model.js';
import type { EventLog } from '../core/ports.js';
import { scopeOf } from '../core/scope.js';
import { ReadModels, type ReadPorts } from '../readmodels/read-models.js';
import { RecordSealer } from '../streams/record-sealer.js';
import { readiness, type MemoryService, type ReadyReport } from './service.js';

export interface ClusterServiceDeps extends ReadPorts {
  readonly log: EventLog;
  /** Seals published conversation events under the users' keys; plain when absent. */
  readonly sealer?: RecordSealer;
}

/** The scope readiness probes read (they never write, so any tenant may share the name). */
const PROBE = scopeOf('engram-readyz', 'probe');

/** The read models plus publishing to Kafka and a readiness probe over every server. */
export class ClusterService extends ReadModels implements MemoryService {
  constructor(private readonly deps: ClusterServiceDeps) {
    super(deps);
  }

  async publish(events: readonly ConversationEvent[]): Promise<LogPosition[]> {
    if (events.length === 0) return [];
    const sealer = this.deps.sealer ?? new RecordSealer(null);
    return this.deps.log.append(TOPICS.conversation, await sealer.conversationRecords(events));
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
