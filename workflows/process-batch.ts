/**
 * The memory pipeline for one batch of one user's events, written once and run by both
 * orchestrators: the embedded durable runner and Temporal. It is deterministic given the activity
 * results: no I/O, no clock, no randomness; it imports only types from the activities.
 */
import type { MemoryActivities } from '../activities/index.js';
import type { LogPosition, PositionedEvent } from '../core/model.js';
import type { SessionTurn } from '../core/pipeline.js';

/** What a user's memory workflow remembers between batches (and across continueAsNew). */
export interface MemoryWorkflowState {
  readonly tenantId: string;
  readonly userId: string;
  /** Recently processed event ids, newest last (bounded): duplicates are dropped. */
  readonly seen: readonly string[];
  /** Turns of sessions not yet summarised. */
  readonly sessionTurns: readonly SessionTurn[];
  /** The last memory-event position this workflow committed. */
  readonly lastCommitted: LogPosition | null;
  readonly batches: number;
  readonly eventsProcessed: number;
  readonly memoryEvents: number;
}

/** How many event ids the workflow keeps for deduplication. */
export const SEEN_LIMIT = 10_000;

/** The state a new user's workflow starts from. */
export function initialState(tenantId: string, userId: string): MemoryWorkflowState {
  return { tenantId, userId, seen: [], sessionTurns: [], lastCommitted: null, batches: 0, eventsProcessed: 0, memoryEvents: 0 };
}

/** Activities as a workflow may call them: every call is asynchronous and journaled. */
export type BatchActivities = {
  readonly [K in keyof MemoryActivities]: (...args: Parameters<MemoryActivities[K]>) => Promise<Awaited<ReturnType<MemoryActivities[K]>>>;
};

/**
 * Runs extract → embed → associate → consolidate → resolve conflicts → guard → commit over one
 * batch and returns the workflow's next state.
 */
export async function processBatch(
  acts: BatchActivities,
  state: MemoryWorkflowState,
  batch: readonly PositionedEvent[],
  batchId: string,
): Promise<MemoryWorkflowState> {
  const seen = new Set(state.seen);
  const fresh: PositionedEvent[] = [];
  for (const e of batch) {
    if (seen.has(e.event.eventId)) continue;
    seen.add(e.event.eventId);
    fresh.push(e);
  }
  const scope = { tenantId: state.tenantId, userId: state.userId };
  const seenList = [...state.seen, ...fresh.map((e) => e.event.eventId)].slice(-SEEN_LIMIT);
  if (fresh.length === 0) return { ...state, seen: seenList };

  const extracted = await acts.extract({ ...scope, events: fresh, sessionTurns: [...state.sessionTurns] });
  const embedded = await acts.embed({ candidates: extracted.candidates });
  const after = state.lastCommitted;
  const associated = await acts.associate({ ...scope, after, candidates: embedded, batchId });
  const planned = await acts.consolidate({
    ...scope,
    after,
    candidates: associated.candidates,
    lifecycle: extracted.lifecycle,
  });
  const resolved = await acts.resolveConflicts({ ...scope, after, changes: planned });
  const rescan = extracted.lifecycle.filter((c) => c.type === 'rescan');
  // Only present when asked for, so the activity input of an ordinary batch is unchanged.
  const guarded = await acts.guard({ ...scope, after, changes: resolved, ...(rescan.length > 0 ? { rescan } : {}) });
  const committed = await acts.commit({
    ...scope,
    after,
    batchId,
    changes: guarded.changes,
    fitted: associated.fitted,
    ...(extracted.usage && extracted.usage.length > 0 ? { usage: extracted.usage } : {}),
  });

  return {
    ...state,
    seen: seenList,
    sessionTurns: extracted.sessionTurns,
    lastCommitted: committed.last ?? state.lastCommitted,
    batches: state.batches + 1,
    eventsProcessed: state.eventsProcessed + fresh.length,
    memoryEvents: state.memoryEvents + committed.events,
  };
}

/**
 * The forgetting pass for one user: archives memories whose retention at `now` fell below the
 * floor. `now` comes from the orchestrator (Temporal's deterministic clock, or the runner's batch
 * start), so a replay archives exactly the same memories.
 */
export async function processDecay(
  acts: BatchActivities,
  state: MemoryWorkflowState,
  now: number,
  batchId: string,
): Promise<MemoryWorkflowState> {
  const scope = { tenantId: state.tenantId, userId: state.userId };
  const after = state.lastCommitted;
  const changes = await acts.decay({ ...scope, after, now, batchId });
  if (changes.length === 0) return state;
  const committed = await acts.commit({ ...scope, after, batchId, changes, fitted: null });
  return {
    ...state,
    lastCommitted: committed.last ?? state.lastCommitted,
    memoryEvents: state.memoryEvents + committed.events,
  };
}
