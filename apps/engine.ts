/**
 * Engram on the embedded profile, as one object: publish, run the pipeline until idle, query, and
 * replay. The CLI, the HTTP server, the demo and the tests all go through it.
 */
import { createActivities, type MemoryActivities } from '../activities/index.js';
import type { ConversationEvent, Lesson, LogPosition, PositionedEvent, SourceRef } from '../core/model.js';
import { NotFoundError } from '../core/errors.js';
import { TOPICS } from '../core/model.js';
import type { AppendRecord, LogRecord, MemoryState, ModelUsageTotal, Neighbourhood } from '../core/ports.js';
import { scopeKey, scopeOf, type Scope } from '../core/scope.js';
import type { Config } from '../infra/config.js';
import { createLlmClient } from '../infra/llm/openai-client.js';
import { openEmbeddedPorts, type EmbeddedPorts, type OpenOptions } from '../infra/profile/embedded.js';
import type { SearchHit } from '../readmodels/search.js';
import type { QuarantineItem, ReadSearchOptions as SearchOptions, SearchResult, UserExport } from '../readmodels/read-models.js';
import type { MemoryDetail } from '../readmodels/memory-detail.js';
import { ReadModels } from '../readmodels/read-models.js';
import { readiness, type MemoryService, type ReadyReport, type ReviewVerdict, type Watermarks } from './service.js';
import { readSourceQuotes, type SourceQuote } from '../streams/source-quotes.js';
import { rescanRequestsOf, reviewEventOf, type RescanReport } from './guard-requests.js';
import { IngestBridge } from '../streams/ingest-bridge.js';
import type { RecordSealer } from '../streams/record-sealer.js';
import { accessRecorder, forgettingOf, guardOf, sealerOf } from './composition.js';
import { GraphProjection } from '../streams/projectors/graph-projection.js';
import { GraphWorkerClient } from '../infra/embedded/graph-worker-client.js';
import { ProjectorRunner } from '../streams/projectors/projector-runner.js';
import { StoreProjection } from '../streams/projectors/store-projection.js';
import { VectorProjection } from '../streams/projectors/vector-projection.js';
import { initialState, processBatch, processDecay, type BatchActivities, type MemoryWorkflowState } from '../workflows/process-batch.js';
import { instrumentActivities } from '../infra/observability/instrument-activities.js';
import { eventKey, instrumentProjections, meteredDeadLetters, meteredHandOff } from '../infra/observability/instrument-streams.js';
import { handOver, withSpan, withSpanFrom } from '../infra/observability/tracing.js';

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

/** User workflows run at once by `runUntilIdle` (the model overlaps the rest of the pipeline). */
const WORKFLOWS_IN_FLIGHT = 2;

/**
 * Memory events a replay applies per transaction. Measured on the 300k-event bench store: 4096
 * held about 120 MB more at the peak than 2048 (the graph process holds a transaction's writes
 * until it commits, and this one a fetch's decoded events) for a few per cent of speed; 1024 saved
 * 60 MB more but was 10 % slower.
 */
const REPLAY_FETCH = 2048;

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
      guard: config.guard === 'on',
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
      instrumentProjections([new StoreProjection(store, memoryDb.checkpoints), new VectorProjection(vectors, memoryDb.checkpoints), new GraphProjection(graph, graph)]),
      512,
      sealer,
    );
    this.bridge = new IngestBridge(
      meteredDeadLetters(log),
      meteredHandOff(async (workflowId, events) => {
        runner.signal(workflowId, events.map((e) => ({ id: e.event.eventId, payload: e })));
      }),
      'ingest-bridge',
      sealer,
    );
    this.activities = instrumentActivities(createActivities({
      log,
      embedder: ports.embedder,
      store,
      vectors,
      clock: ports.clock,
      sealer,
      options: { forgetting, guard: guardOf(config) },
      awaitProjection: (position: LogPosition) => this.projectors.ensure(position.partition, position.offset, READ_SIDE),
      llm: createLlmClient(config),
    }));
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
    return withSpan('engram.publish', { 'engram.events': events.length }, async () => {
      const positions = await this.publishRecords(await this.sealer.conversationRecords(events));
      // The bridge and the batches that take these events up continue this trace (in-process).
      handOver(() => events.map((e) => eventKey(e.eventId)));
      return positions;
    });
  }

  /** Appends raw records (as another producer would); the bridge validates them. */
  async publishRecords(records: readonly AppendRecord[]): Promise<LogPosition[]> {
    if (records.length === 0) return [];
    return this.ports.log.append(TOPICS.conversation, records);
  }

  /** Runs bridge, workflows and projectors until nothing is left to do (calls are serialised). */
  runUntilIdle(onProgress?: (p: RunProgress) => void): Promise<RunStats> {
    const run = this.running.then(() => this.runOnce(onProgress));
    // A failed run must not wedge the next caller: the chain continues either way.
    this.running = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private running: Promise<void> = Promise.resolve();

  private async runOnce(onProgress?: (p: RunProgress) => void): Promise<RunStats> {
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
      const batchAttrs = { 'engram.workflow_id': ctx.workflowId, 'engram.batch': ctx.batchSeq, 'engram.events': events.length };
      const batch = (): Promise<MemoryWorkflowState> => processBatch(ctx.activities, before, events, `${ctx.workflowId}#${ctx.batchSeq}`);
      let after = events.length === 0 ? before : await withSpanFrom('engram.workflow.batch', batchAttrs, () => events.map((e) => eventKey(e.event.eventId)), batch);
      for (const tick of ctx.inputs.filter(isDecayTick)) {
        after = await processDecay(ctx.activities, after, tick.at, `${ctx.workflowId}#${ctx.batchSeq}/decay@${tick.at}`);
      }
      memoryEvents += after.memoryEvents - before.memoryEvents;
      return after;
    };
    for (;;) {
      const bridged = await this.bridge.pollOnce(1024);
      this.deadLettered += bridged.deadLettered;
      // Every pending workflow until its inbox is empty, in rounds. Users' workflows are
      // independent: two in flight let one user's extraction and clustering run while the model
      // (in its worker thread) embeds the other's batch. Everything but the model still runs one
      // call at a time, and commits land in the order of a one-by-one run.
      const { ran } = await this.ports.runner.runBatches(this.ports.runner.pending(), workflowFn, this.activities, this.config.batchSize, {
        concurrency: WORKFLOWS_IN_FLIGHT,
        parallel: ['embed'],
        ordered: ['commit'],
        onBatch: async (_, result) => {
          // Projected while the model embeds the next batch, rather than all at the end.
          if (result.ran) await this.projectors.catchUp();
          onProgress?.(await this.progress());
        },
      });
      batches += ran;
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

  /** Hybrid search over one user's memories (after the read-time guard). */
  search(scope: Scope, query: string, opts?: SearchOptions): Promise<SearchHit[]> {
    return this.reads.search(scope, query, opts);
  }

  /** Search with the read-time guard's findings: hits, flagged members and relevant lessons. */
  searchResult(scope: Scope, query: string, opts?: SearchOptions): Promise<SearchResult> {
    return this.reads.searchResult(scope, query, opts);
  }

  /** The user ids a tenant has memories for. */
  users(tenantId: string): Promise<string[]> {
    return this.reads.users(tenantId);
  }

  /** Lessons distilled from detected attacks on this user's memory. */
  lessons(scope: Scope): Promise<Lesson[]> {
    return this.reads.lessons(scope);
  }

  /** The quarantine review queue of a tenant (or one user). */
  quarantine(tenantId: string, userId?: string): Promise<QuarantineItem[]> {
    return this.reads.quarantine(tenantId, userId);
  }

  /** Everything held about a user. */
  exportUser(scope: Scope): Promise<UserExport> {
    return this.reads.exportUser(scope);
  }

  /** The source messages of a memory, quoted from the conversation log. */
  sourceQuotes(scope: Scope, sources: readonly SourceRef[]): Promise<SourceQuote[]> {
    return readSourceQuotes(this.ports.log, this.sealer, scope, sources);
  }

  /**
   * Approves or rejects a quarantined memory: a `QuarantineReviewed` event through the user's
   * workflow (ordered with their other events), which commits `MemoryReleased`.
   */
  async review(scope: Scope, memoryId: string, verdict: ReviewVerdict): Promise<MemoryState> {
    const event = await reviewEventOf(this.ports.store, scope, memoryId, verdict, this.ports.clock.now());
    await this.publish([event]);
    await this.runUntilIdle();
    const after = await this.ports.store.get(scope, memoryId);
    if (!after) throw new NotFoundError(`no memory ${memoryId} for ${scope.tenantId}/${scope.userId}`);
    return after;
  }

  /**
   * Runs the current guard over the memories added or updated in `memory-events` from `since`
   * (an offset in every partition): a `GuardRescanRequested` per user, through their workflows.
   */
  async rescan(since = 0, onProgress?: (p: RunProgress) => void): Promise<RescanReport> {
    await this.runUntilIdle();
    const requested = await rescanRequestsOf(this.ports.log, this.sealer, since, this.ports.clock.now());
    const before = new Map<string, number>();
    for (const r of requested) before.set(scopeKey(r.scope), (await this.reads.quarantine(r.scope.tenantId, r.scope.userId)).length);
    await this.publish(requested.flatMap((r) => r.events));
    await this.runUntilIdle(onProgress);
    let quarantined = 0;
    for (const r of requested) quarantined += (await this.reads.quarantine(r.scope.tenantId, r.scope.userId)).length - (before.get(scopeKey(r.scope)) ?? 0);
    return { users: requested.length, memories: requested.reduce((n, r) => n + r.memoryIds, 0), quarantined };
  }

  /** True once the conversation event at `position` is processed and visible to reads. */
  async caughtUp(position: LogPosition): Promise<boolean> {
    const { log, runner } = this.ports;
    if (position.partition >= (await log.partitions(TOPICS.conversation))) return false;
    if ((await log.endOffset(TOPICS.conversation, position.partition)) <= position.offset) return false;
    return (await this.bridge.lag()) === 0 && runner.pendingInputs() === 0 && (await this.projectors.lag()) === 0;
  }

  /** Log ends and each projector's checkpoint, per partition. */
  async watermarks(): Promise<Watermarks> {
    const { log } = this.ports;
    const ends = async (topic: string): Promise<number[]> => {
      const out: number[] = [];
      for (let p = 0; p < (await log.partitions(topic)); p++) out.push(await log.endOffset(topic, p));
      return out;
    };
    const memoryEnd = await ends(TOPICS.memory);
    const projected: Record<string, number[]> = {};
    for (const projection of this.projectors.projections) {
      projected[projection.name] = [];
      for (let p = 0; p < memoryEnd.length; p++) projected[projection.name]?.push(await projection.checkpoints.checkpoint(projection.name, TOPICS.memory, p));
    }
    return { conversationEnd: await ends(TOPICS.conversation), memoryEnd, projected };
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
    // A replay calls no model (the embeddings are in the events): the model's worker and its memory
    // go while it runs; the next embedding starts it again.
    await this.ports.model.close?.();
    // The graph is rebuilt by a worker process (the second core; LadybugDB's addon is not safe in
    // two threads) while this one decodes and writes memory.db; graph calls from here wait until
    // the database is handed back.
    const events = await this.ports.graph.lend(async (dir) => {
      const graph = await GraphWorkerClient.start(dir);
      let closing: Promise<void> | null = null;
      try {
        // The graph first: the runner hands each fetch to the projections in this order, and the
        // worker's batch is then on its way before this thread writes the same fetch to memory.db.
        const projections = [
          ...instrumentProjections([new GraphProjection(graph, graph)]),
          ...this.projectors.projections.filter((p) => p.name !== 'memory-graph'),
        ];
        let done = 0;
        // memory.db writes each page once while it loads (a rollback journal instead of the WAL,
        // or the WAL copied by another thread meanwhile: MemoryDb.bulkWrites), while the worker's
        // graph checkpoints once as it closes.
        await this.ports.memoryDb.bulkWrites(async () => {
          // Side by side: the graph empties itself in its process while this thread empties memory.db,
          // whose freed pages are not zeroed now: the load reuses them (zeroing each as it takes it),
          // and the rest are zeroed at the end (or at the next open, after a failure).
          await this.ports.memoryDb.deferPurge(() => Promise.all(projections.map((p) => p.reset())));
          // The store's table and the index are empty now: their writes need not look rows up until the end.
          this.ports.store.beginRebuild();
          this.ports.vectors.beginRebuild();
          const total = await this.projectors.lag(projections);
          for (;;) {
            // REPLAY_FETCH records per transaction (see there): fewer transactions than live catch-up, same result.
            const n = await this.projectors.catchUp(undefined, REPLAY_FETCH, projections);
            if (n === 0) break;
            done += n;
            onProgress?.(done, total);
          }
          this.ports.memoryDb.purgeFreePages();
          closing = graph.close();
          // Awaited below, after memory.db's checkpoint; a failure must not count as unhandled meanwhile.
          closing.catch(() => undefined);
        });
        return done / projections.length;
      } finally {
        this.ports.store.endRebuild();
        this.ports.vectors.endRebuild();
        await (closing ?? graph.close());
      }
    });
    return { events, modelCalls: this.ports.model.calls - callsBefore };
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
    // The model's worker thread, if it started one (an injected test embedder may have no close).
    await this.ports.model.close?.();
  }
}
