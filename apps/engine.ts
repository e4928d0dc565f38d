/**
 * Engram on the embedded profile, as one object: publish, run the pipeline until idle, query, and
 * replay. The CLI, the HTTP server, the demo and the tests all go through it.
 */
import { createActivities, type MemoryActivities } from '../activities/index.js';
import type { ConversationEvent, LogPosition, PositionedEvent } from '../core/model.js';
import { TOPICS } from '../core/model.js';
import type { AppendRecord, LogRecord, MemoryState, ModelUsageTotal, Neighbourhood } from '../core/ports.js';
import { scopeOf, type Scope } from '../core/scope.js';
import type { Config } from '../infra/config.js';
import { createLlmClient } from '../infra/llm/openai-client.js';
import { openEmbeddedPorts, type EmbeddedPorts, type OpenOptions } from '../infra/profile/embedded.js';
import type { SearchHit } from '../readmodels/search.js';
import type { ReadSearchOptions as SearchOptions } from '../readmodels/read-models.js';
import type { MemoryDetail } from '../readmodels/memory-detail.js';
import { ReadModels } from '../readmodels/read-models.js';
import { readiness, type MemoryService, type ReadyReport } from './service.js';
import { IngestBridge } from '../streams/ingest-bridge.js';
import type { RecordSealer } from '../streams/record-sealer.js';
import { accessRecorder, forgettingOf, sealerOf } from './composition.js';
import { GraphProjection } from '../streams/projectors/graph-projection.js';
import { ProjectorRunner } from '../streams/projectors/projector-runner.js';
import { StoreProjection } from '../streams/projectors/store-projection.js';
import { VectorProjection } from '../streams/projectors/vector-projection.js';
import { initialState, processBatch, processDecay, type BatchActivities, type MemoryWorkflowState } from '../workflows/process-batch.js';

export interface RunProgress {
  /** Conversation events fully processed by their workflows. */
  readonly processed: number;
  /** Conversation events published so far. */
  readonly published: number;
  readonly deadLettered: number;
}

export interface RunStats extends RunProgress {
  readonly batches: number;
  readonly memoryEvents: number;
}

/** A workflow input that asks for the forgetting pass at a given time (embedded profile). */
interface DecayTick {
  readonly decay: true;
  readonly at: number;
}
type WorkflowInput = PositionedEvent | DecayTick;
const isDecayTick = (i: WorkflowInput): i is DecayTick => (i as Partial<DecayTick>).decay === true;

/** Projections that consolidation reads: they must be caught up before a user's next batch. */
const READ_SIDE = ['memory-store', 'vector-index'];

/** Parses `memory/<tenant>/<user>` back into its scope. */
function scopeOfWorkflow(workflowId: string): Scope {
  const [, tenantId, userId] = workflowId.split('/');
  return scopeOf(tenantId, userId);
}

export class Engine implements MemoryService {
  readonly bridge: IngestBridge;
  readonly projectors: ProjectorRunner;
  readonly activities: MemoryActivities;
  private readonly reads: ReadModels;
  private readonly sealer: RecordSealer;
  private deadLettered = 0;

  private constructor(
    readonly config: Config,
    readonly ports: EmbeddedPorts,
  ) {
    const { log, runner, store, vectors, graph, memoryDb } = ports;
    const forgetting = forgettingOf(config);
    const sealer = sealerOf(config, ports.keys);
    this.sealer = sealer;
    this.reads = new ReadModels({
      embedder: ports.embedder,
      vectors,
      store,
      graph,
      clock: ports.clock,
      forgetting,
      recordAccess: accessRecorder(log, sealer),
    });
    this.projectors = new ProjectorRunner(
      log,
      [new StoreProjection(store, memoryDb.checkpoints), new VectorProjection(vectors, memoryDb.checkpoints), new GraphProjection(graph, graph)],
      512,
      sealer,
    );
    this.bridge = new IngestBridge(
      log,
      async (workflowId, events) => {
        runner.signal(workflowId, events.map((e) => ({ id: e.event.eventId, payload: e })));
      },
      'ingest-bridge',
      sealer,
    );
    this.activities = createActivities({
      log,
      embedder: ports.embedder,
      store,
      vectors,
      clock: ports.clock,
      sealer,
      options: { forgetting },
      awaitProjection: (position: LogPosition) => this.projectors.ensure(position.partition, position.offset, READ_SIDE),
      llm: createLlmClient(config),
    });
  }

  /** Opens the engine over a data directory (creating it when `create`). */
  static async open(
    config: Config,
    opts: Partial<OpenOptions> = {},
  ): Promise<Engine> {
    const ports = await openEmbeddedPorts(config.dataDir, { create: opts.create ?? true, ...opts });
    try {
      if (opts.create ?? true) {
        for (const topic of Object.values(TOPICS)) await ports.log.ensureTopic(topic, config.partitions);
      }
      return new Engine(config, ports);
    } catch (err) {
      await ports.close();
      throw err;
    }
  }

  /** Appends validated events to `conversation-events` (idempotent by event id). */
  async publish(events: readonly ConversationEvent[]): Promise<LogPosition[]> {
    return this.publishRecords(await this.sealer.conversationRecords(events));
  }

  /** Appends raw records (as another producer would); the bridge validates them. */
  async publishRecords(records: readonly AppendRecord[]): Promise<LogPosition[]> {
    if (records.length === 0) return [];
    return this.ports.log.append(TOPICS.conversation, records);
  }

  /** Runs bridge, workflows and projectors until nothing is left to do. */
  async runUntilIdle(onProgress?: (p: RunProgress) => void): Promise<RunStats> {
    let batches = 0;
    let memoryEvents = 0;
    const workflowFn = async (ctx: {
      workflowId: string;
      batchSeq: number;
      state: MemoryWorkflowState | null;
      inputs: readonly WorkflowInput[];
      activities: BatchActivities;
    }): Promise<MemoryWorkflowState> => {
      const scope = scopeOfWorkflow(ctx.workflowId);
      const before = ctx.state ?? initialState(scope.tenantId, scope.userId);
      const events = ctx.inputs.filter((i): i is PositionedEvent => !isDecayTick(i));
      let after = events.length === 0 ? before : await processBatch(ctx.activities, before, events, `${ctx.workflowId}#${ctx.batchSeq}`);
      for (const tick of ctx.inputs.filter(isDecayTick)) {
        after = await processDecay(ctx.activities, after, tick.at, `${ctx.workflowId}#${ctx.batchSeq}/decay@${tick.at}`);
      }
      memoryEvents += after.memoryEvents - before.memoryEvents;
      return after;
    };
    for (;;) {
      const bridged = await this.bridge.pollOnce(1024);
      this.deadLettered += bridged.deadLettered;
      let ran = 0;
      for (const workflowId of this.ports.runner.pending()) {
        const result = await this.ports.runner.runBatch(workflowId, workflowFn, this.activities, this.config.batchSize);
        if (result.ran) {
          ran++;
          batches++;
        }
        onProgress?.(await this.progress());
      }
      const projected = await this.projectors.catchUp();
      if (bridged.read === 0 && ran === 0 && projected === 0) break;
    }
    const p = await this.progress();
    onProgress?.(p);
    return { ...p, batches, memoryEvents };
  }

  /**
   * The forgetting pass over every user: each user's workflow archives the memories whose
   * retention at `now` is below the floor, serialised with its event batches (a durable input).
   */
  async forgettingPass(now: number = this.ports.clock.now()): Promise<{ users: number; archived: number }> {
    await this.runUntilIdle();
    const users = this.ports.runner.workflows();
    for (const workflowId of users) this.ports.runner.signal(workflowId, [{ id: `decay@${now}`, payload: { decay: true, at: now } }]);
    const stats = await this.runUntilIdle();
    return { users: users.length, archived: stats.memoryEvents };
  }

  /** How far processing has come. */
  async progress(): Promise<RunProgress> {
    const { log, runner } = this.ports;
    let published = 0;
    for (let p = 0; p < (await log.partitions(TOPICS.conversation)); p++) published += await log.endOffset(TOPICS.conversation, p);
    let dead = 0;
    for (let p = 0; p < (await log.partitions(TOPICS.conversationDlq)); p++) dead += await log.endOffset(TOPICS.conversationDlq, p);
    const waiting = (await this.bridge.lag()) + runner.pendingInputs();
    return { processed: Math.max(0, published - waiting - dead), published, deadLettered: dead };
  }

  /** Hybrid search over one user's memories. */
  search(scope: Scope, query: string, opts?: SearchOptions): Promise<SearchHit[]> {
    return this.reads.search(scope, query, opts);
  }

  /** Language-model tokens metered for a tenant. */
  modelUsage(tenantId: string): Promise<ModelUsageTotal[]> {
    return this.reads.modelUsage(tenantId);
  }

  /** One memory with provenance and history. */
  memory(scope: Scope, id: string): Promise<MemoryDetail> {
    return this.reads.memory(scope, id);
  }

  /** A user's memories: active ones, or every status with `all`. */
  memories(scope: Scope, all = false): Promise<MemoryState[]> {
    return this.reads.memories(scope, all);
  }

  /** Entities and memories around an entity. */
  neighbourhood(scope: Scope, entity: string, depth = 1): Promise<Neighbourhood> {
    return this.reads.neighbourhood(scope, entity, depth);
  }

  /** Dead-lettered conversation events with their reasons. */
  async deadLetters(): Promise<LogRecord[]> {
    const { log } = this.ports;
    const out: LogRecord[] = [];
    for (let p = 0; p < (await log.partitions(TOPICS.conversationDlq)); p++) {
      for (let from = 0; ; ) {
        const batch = await log.read(TOPICS.conversationDlq, p, from, 1000);
        if (batch.length === 0) break;
        out.push(...batch);
        from = (batch[batch.length - 1] as LogRecord).offset + 1;
      }
    }
    return out;
  }

  /** Drops every projection and rebuilds it from `memory-events`; no model is called. */
  async replay(onProgress?: (done: number, total: number) => void): Promise<{ events: number; modelCalls: number }> {
    const callsBefore = this.ports.model.calls;
    for (const projection of this.projectors.projections) await projection.reset();
    const total = await this.projectors.lag();
    let done = 0;
    for (;;) {
      const n = await this.projectors.catchUp();
      if (n === 0) break;
      done += n;
      onProgress?.(done, total);
    }
    return { events: done / this.projectors.projections.length, modelCalls: this.ports.model.calls - callsBefore };
  }

  /** Every embedded store answers a trivial read. */
  ready(): Promise<ReadyReport> {
    return readiness({
      log: () => this.ports.log.partitions(TOPICS.conversation),
      store: () => this.ports.store.users('engram'),
      graph: () => this.ports.graph.entities(scopeOf('engram', 'readyz'), 1),
    });
  }

  async close(): Promise<void> {
    await this.ports.close();
  }
}
