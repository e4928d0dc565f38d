/**
 * Engram's query and publish surface on the cluster profile: publishes to Kafka, reads Qdrant, Neo4j
 * and the memory store. Processing happens in the other roles (ingest, worker, projectors).
 */
import type { ConversationEvent, LogPosition, SourceRef } from '../core/model.js';
import { NotFoundError } from '../core/errors.js';
import { systemClock } from '../core/random.js';
import { TOPICS } from '../core/model.js';
import type { CheckpointStore, EventLog, MemoryState } from '../core/ports.js';
import { scopeOf, type Scope } from '../core/scope.js';
import { ReadModels, type ReadPorts } from '../readmodels/read-models.js';
import { RecordSealer } from '../streams/record-sealer.js';
import { readiness, type MemoryService, type ReadyReport, type ReviewVerdict, type Watermarks } from './service.js';
import { readSourceQuotes, type SourceQuote } from '../streams/source-quotes.js';
import { reviewEventOf } from './guard-requests.js';

export interface ClusterServiceDeps extends ReadPorts {
  readonly log: EventLog;
  /** The memory store projector's checkpoints (watermarks, read-your-writes). */
  readonly checkpoints?: CheckpointStore;
  /** How long `review` waits for its verdict to be projected (ms). */
  readonly reviewWaitMs?: number;
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

  /** The source messages of a memory, quoted from Kafka. */
  sourceQuotes(scope: Scope, sources: readonly SourceRef[]): Promise<SourceQuote[]> {
    return readSourceQuotes(this.deps.log, this.deps.sealer ?? new RecordSealer(null), scope, sources);
  }

  /** Publishes the verdict for the user's workflow and waits (bounded) until the store shows it. */
  async review(scope: Scope, memoryId: string, verdict: ReviewVerdict): Promise<MemoryState> {
    const clock = this.deps.clock ?? systemClock;
    const event = await reviewEventOf(this.deps.store, scope, memoryId, verdict, clock.now());
    await this.publish([event]);
    const deadline = Date.now() + (this.deps.reviewWaitMs ?? 30_000);
    for (;;) {
      const state = await this.deps.store.get(scope, memoryId);
      if (!state) throw new NotFoundError(`no memory ${memoryId} for ${scope.tenantId}/${scope.userId}`);
      if (state.status !== 'quarantined' || Date.now() >= deadline) return state;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /**
   * Published, and the memory store has projected the memory log to its end. The workflow may
   * still hold the event (Temporal is not asked), so this is a lower bound on what reads will show.
   */
  async caughtUp(position: LogPosition): Promise<boolean> {
    const { log } = this.deps;
    if ((await log.endOffset(TOPICS.conversation, position.partition)) <= position.offset) return false;
    const w = await this.watermarks();
    const store = w.projected['memory-store'];
    return store !== undefined && w.memoryEnd.every((end, p) => (store[p] ?? 0) >= end);
  }

  /** Log ends from Kafka and the memory store's checkpoints. */
  async watermarks(): Promise<Watermarks> {
    const { log, checkpoints } = this.deps;
    const ends = async (topic: string): Promise<number[]> => {
      const out: number[] = [];
      for (let p = 0; p < (await log.partitions(topic)); p++) out.push(await log.endOffset(topic, p));
      return out;
    };
    const memoryEnd = await ends(TOPICS.memory);
    const projected: Record<string, number[]> = {};
    if (checkpoints) projected['memory-store'] = await Promise.all(memoryEnd.map((_, p) => checkpoints.checkpoint('memory-store', TOPICS.memory, p)));
    return { conversationEnd: await ends(TOPICS.conversation), memoryEnd, projected };
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
