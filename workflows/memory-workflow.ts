/**
 * The per-user memory workflow on Temporal (workflow id `memory/<tenant>/<user>`): buffers the
 * events signalled by the ingest bridge, runs the shared `processBatch` over them one batch at a
 * time, and continues as new before its history grows large. It never completes on its own: its
 * state (dedup window, open sessions, last committed position) lives in the workflow.
 *
 * Workflow code: deterministic, no I/O, and only types from the activities (DESIGN.md §4.2).
 */
import {
  ActivityFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  defineQuery,
  defineSignal,
  log,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
  ApplicationFailure,
  type ActivityOptions,
  type RetryPolicy,
} from '@temporalio/workflow';
import type { MemoryActivities } from '../activities/index.js';
import type { LogPosition, PositionedEvent } from '../core/model.js';
import { initialState, processBatch, processDecay, SEEN_LIMIT, type BatchActivities, type MemoryWorkflowState } from './process-batch.js';

/** A batch the activities rejected for good (a non-retryable failure): skipped and recorded. */
export interface FailedBatch {
  readonly batchId: string;
  /** How many events the batch had, and the first ids (at most FAILED_IDS_LIMIT). */
  readonly events: number;
  readonly eventIds: readonly string[];
  readonly activity: string;
  readonly errorType: string;
  readonly message: string;
}

/** The workflow's input; a continued run also carries its state and the events not yet processed. */
export interface MemoryWorkflowInput {
  readonly tenantId: string;
  readonly userId: string;
  readonly batchSize: number;
  readonly state?: MemoryWorkflowState | null;
  readonly pending?: readonly PositionedEvent[];
  /** Batches skipped so far (kept so batch ids stay unique across skips and runs). */
  readonly failed?: readonly FailedBatch[];
  readonly skippedBatches?: number;
  /** Run the forgetting pass after this long without events (ms); 0 or absent: never. */
  readonly decayIntervalMs?: number;
  /** Workflow time of the last forgetting pass (carried across continueAsNew). */
  readonly lastDecayAt?: number;
}

/** What the Temporal UI (and `temporal workflow query`) shows for one user's workflow. */
export interface MemoryProgress {
  readonly batches: number;
  readonly eventsProcessed: number;
  readonly memoryEvents: number;
  readonly pending: number;
  readonly lastCommitted: LogPosition | null;
  readonly skippedBatches: number;
  readonly failed: readonly FailedBatch[];
}

/** New events for the workflow (the ingest bridge's hand-off). */
export const eventsSignal = defineSignal<[PositionedEvent[]]>('events');

/** The workflow's progress counters. */
export const progressQuery = defineQuery<MemoryProgress>('progress');

/** History length after which a run continues as new, even if the server has not suggested it yet. */
export const MAX_HISTORY_EVENTS = 2_000;

/** How many failed batches the workflow remembers (the newest), and event ids per batch. */
export const FAILED_LIMIT = 100;
export const FAILED_IDS_LIMIT = 100;

/**
 * EngramError subclasses that are never retriable, whatever the instance says. Errors whose
 * retriability varies per instance (StorageError, DataDirError, EmbedderError) are left out:
 * the activity wrapper marks those non-retryable per failure instead, and listing their names here
 * would stop retries of the transient ones too.
 */
export const NON_RETRYABLE_ERROR_TYPES: readonly string[] = [
  'ValidationError',
  'DecodeError',
  'NotFoundError',
  'ConfigError',
  'NondeterminismError',
];

/**
 * Temporal owns retries (activities never loop): back off to a minute and never give up, so a
 * transient outage pauses a user's memory rather than dropping it. `maximumAttempts` is left unset,
 * which is unlimited (the TypeScript SDK rejects the proto's 0).
 */
export const RETRY_POLICY: RetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '1m',
  nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
};

/** Per-activity options; exported so tests (and operators reading the code) see the exact values. */
export const ACTIVITY_OPTIONS: { readonly [K in keyof MemoryActivities]: ActivityOptions } = {
  // With a language model configured, extraction and the judgements wait on it (up to a repair
  // per call): generous limits, with heartbeats so that a hung worker is still noticed early.
  extract: { startToCloseTimeout: '10m', heartbeatTimeout: '1m', retry: RETRY_POLICY },
  // The embedder may call a remote model over a large batch: longer, with heartbeats so a hung
  // worker is noticed long before the five minutes are up.
  embed: { startToCloseTimeout: '5m', heartbeatTimeout: '30s', retry: RETRY_POLICY },
  associate: { startToCloseTimeout: '2m', retry: RETRY_POLICY },
  consolidate: { startToCloseTimeout: '10m', heartbeatTimeout: '1m', retry: RETRY_POLICY },
  resolveConflicts: { startToCloseTimeout: '5m', heartbeatTimeout: '1m', retry: RETRY_POLICY },
  guard: { startToCloseTimeout: '2m', retry: RETRY_POLICY },
  decay: { startToCloseTimeout: '2m', retry: RETRY_POLICY },
  commit: { startToCloseTimeout: '1m', retry: RETRY_POLICY },
};

/** One activity stub with its own options. */
function stub<K extends keyof MemoryActivities>(name: K): BatchActivities[K] {
  // proxyActivities maps each function to its promise-returning form, which is BatchActivities[K].
  return proxyActivities<MemoryActivities>(ACTIVITY_OPTIONS[name])[name] as unknown as BatchActivities[K];
}

/** The activities as this workflow calls them. */
function activityStubs(): BatchActivities {
  return {
    extract: stub('extract'),
    embed: stub('embed'),
    associate: stub('associate'),
    consolidate: stub('consolidate'),
    resolveConflicts: stub('resolveConflicts'),
    guard: stub('guard'),
    decay: stub('decay'),
    commit: stub('commit'),
  };
}

/** Workflow time: inside Temporal's sandbox Date.now() is the deterministic time of the current workflow task. */
function workflowNow(): number {
  // eslint-disable-next-line no-restricted-properties -- deterministic in workflow code (Temporal replays it)
  return Date.now();
}

/** True when this run should hand over to a fresh one. */
function historyIsLong(): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.historyLength >= MAX_HISTORY_EVENTS;
}

/** Runs one user's memory pipeline forever (until terminated or cancelled). */
export async function memoryWorkflow(input: MemoryWorkflowInput): Promise<never> {
  const { tenantId, userId, batchSize } = input;
  const decayIntervalMs = input.decayIntervalMs ?? 0;
  let lastDecayAt = input.lastDecayAt ?? workflowNow();
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw ApplicationFailure.nonRetryable(`batchSize must be a positive integer, got ${String(batchSize)}`, 'ValidationError');
  }
  const acts = activityStubs();
  let state: MemoryWorkflowState = input.state ?? initialState(tenantId, userId);
  let failed: FailedBatch[] = [...(input.failed ?? [])];
  let skippedBatches = input.skippedBatches ?? 0;
  const pending: PositionedEvent[] = [];
  const pendingIds = new Set<string>();
  const enqueue = (events: readonly PositionedEvent[]): void => {
    for (const e of events) {
      // Re-delivered events (the bridge is at-least-once) are dropped here while still pending;
      // processBatch drops those already processed.
      if (pendingIds.has(e.event.eventId)) continue;
      pendingIds.add(e.event.eventId);
      pending.push(e);
    }
  };
  enqueue(input.pending ?? []);

  setHandler(eventsSignal, (events) => enqueue(events));
  setHandler(progressQuery, () => ({
    batches: state.batches,
    eventsProcessed: state.eventsProcessed,
    memoryEvents: state.memoryEvents,
    pending: pending.length,
    lastCommitted: state.lastCommitted,
    skippedBatches,
    failed,
  }));

  for (;;) {
    // Histories written before the forgetting timer existed replay without it (patched is false there).
    if (decayIntervalMs > 0 && patched('forgetting-pass')) {
      const wait = Math.max(1, lastDecayAt + decayIntervalMs - workflowNow());
      const arrived = await condition(() => pending.length > 0, wait);
      if (!arrived || workflowNow() - lastDecayAt >= decayIntervalMs) {
        lastDecayAt = workflowNow();
        state = await processDecay(acts, state, lastDecayAt, `${workflowInfo().workflowId}#decay@${lastDecayAt}`);
        if (!arrived) continue;
      }
    } else {
      await condition(() => pending.length > 0);
    }
    const batch = pending.splice(0, batchSize);
    for (const e of batch) pendingIds.delete(e.event.eventId);
    const batchId = `${workflowInfo().workflowId}#${state.batches + skippedBatches + 1}`;
    try {
      state = await processBatch(acts, state, batch, batchId);
    } catch (err) {
      // Retries are unlimited, so an activity failure here is a non-retryable one: bad data that
      // will fail the same way forever. Skip the batch and record it rather than fail the workflow
      // (which would lose this user's state). Anything else is a bug: let the workflow task fail
      // and retry once the code is fixed. Cancellation ends the workflow as cancelled.
      if (!(err instanceof ActivityFailure) || isCancellation(err)) throw err;
      const cause = err.cause;
      const eventIds = batch.map((e) => e.event.eventId);
      const entry: FailedBatch = {
        batchId,
        events: batch.length,
        eventIds: eventIds.slice(0, FAILED_IDS_LIMIT),
        activity: err.activityType,
        errorType: cause instanceof ApplicationFailure ? (cause.type ?? 'Error') : (cause?.name ?? 'Error'),
        message: cause?.message ?? err.message,
      };
      log.error('memory batch skipped after a non-retryable activity failure', { ...entry });
      failed = [...failed, entry].slice(-FAILED_LIMIT);
      skippedBatches += 1;
      state = { ...state, seen: [...state.seen, ...eventIds].slice(-SEEN_LIMIT) };
    }
    if (historyIsLong()) {
      // Let any signal handler in flight finish, then carry the buffer over to the next run.
      await condition(allHandlersFinished);
      await continueAsNew<typeof memoryWorkflow>({
        tenantId,
        userId,
        batchSize,
        state,
        pending: [...pending],
        failed,
        skippedBatches,
        decayIntervalMs,
        lastDecayAt,
      });
    }
  }
}
