/**
 * The operator's guard actions as conversation events, the same on both profiles: a review verdict
 * (`QuarantineReviewed`) and a re-scan request (`GuardRescanRequested`). They travel through the
 * user's workflow like any other event, so they are ordered with the user's messages, durable,
 * deduplicated by id, and replayable.
 */
import { NotFoundError, ValidationError } from '../core/errors.js';
import { derivedEventIdOf } from '../core/ids.js';
import { TOPICS, type ConversationEvent } from '../core/model.js';
import type { EventLog, LogRecord, MemoryStore } from '../core/ports.js';
import { scopeKey, scopeOf, type Scope } from '../core/scope.js';
import { decodeMemoryEvent } from '../schemas/codec.js';
import type { RecordSealer } from '../streams/record-sealer.js';
import type { ReviewVerdict } from './service.js';

/** The conversation and session that operator events are filed under. */
export const OPERATOR_CONVERSATION = 'engram-operator';

/** Memory ids per rescan event: keeps each event well under the log's record size. */
const RESCAN_CHUNK = 500;

/** What a re-scan did. */
export interface RescanReport {
  readonly users: number;
  /** Memories checked again (added or updated since the offset). */
  readonly memories: number;
  /** Memories the re-scan newly quarantined. */
  readonly quarantined: number;
}

/** The review event for a quarantined memory; NotFoundError when absent, ValidationError when not quarantined. */
export async function reviewEventOf(store: MemoryStore, scope: Scope, memoryId: string, verdict: ReviewVerdict, now: number): Promise<ConversationEvent> {
  const reason = verdict.reason.trim();
  if (reason === '') throw new ValidationError('a review needs a reason');
  const state = await store.get(scope, memoryId);
  if (!state || state.status === 'forgotten') throw new NotFoundError(`no memory ${memoryId} for ${scope.tenantId}/${scope.userId}`);
  if (state.status !== 'quarantined') {
    throw new ValidationError(`memory ${memoryId} is ${state.status}, not quarantined: only quarantined memories are reviewed`);
  }
  return {
    // One verdict per version: a retried request is the same event; a second verdict on the same version is dropped.
    eventId: derivedEventIdOf('quarantine-reviewed', scope.tenantId, scope.userId, memoryId, String(state.version)),
    tenantId: scope.tenantId,
    userId: scope.userId,
    conversationId: OPERATOR_CONVERSATION,
    sessionId: OPERATOR_CONVERSATION,
    occurredAt: now,
    payload: { type: 'QuarantineReviewed', memoryId, approve: verdict.approve, reason, reviewer: verdict.reviewer ?? null },
  };
}

/** Per user: the memories added or updated in `memory-events` from `since`, as rescan events. */
export async function rescanRequestsOf(
  log: EventLog,
  sealer: RecordSealer,
  since: number,
  now: number,
): Promise<{ scope: Scope; memoryIds: number; events: ConversationEvent[] }[]> {
  if (!Number.isInteger(since) || since < 0) throw new ValidationError(`--since must be a non-negative offset, got ${since}`);
  const byUser = new Map<string, { scope: Scope; ids: Set<string> }>();
  for (let p = 0; p < (await log.partitions(TOPICS.memory)); p++) {
    for (let from = since; ; ) {
      const batch: LogRecord[] = await log.read(TOPICS.memory, p, from, 1000);
      if (batch.length === 0) break;
      for (const record of batch) {
        const opened = await sealer.open(record);
        if (opened.erased) continue;
        const e = decodeMemoryEvent(opened.bytes);
        if (e.payload.type !== 'MemoryAdded' && e.payload.type !== 'MemoryUpdated') continue;
        const scope = scopeOf(e.tenantId, e.userId);
        const entry = byUser.get(scopeKey(scope)) ?? { scope, ids: new Set<string>() };
        entry.ids.add(e.payload.memory.id);
        byUser.set(scopeKey(scope), entry);
      }
      from = (batch[batch.length - 1] as LogRecord).offset + 1;
    }
  }
  return [...byUser.keys()].sort().map((key) => {
    const { scope, ids } = byUser.get(key) as { scope: Scope; ids: Set<string> };
    const all = [...ids].sort();
    const events: ConversationEvent[] = [];
    for (let i = 0; i < all.length; i += RESCAN_CHUNK) {
      events.push({
        // The time is part of the id: a later rescan over the same range runs again.
        eventId: derivedEventIdOf('guard-rescan', scope.tenantId, scope.userId, String(since), String(now), String(i)),
        tenantId: scope.tenantId,
        userId: scope.userId,
        conversationId: OPERATOR_CONVERSATION,
        sessionId: OPERATOR_CONVERSATION,
        occurredAt: now,
        payload: { type: 'GuardRescanRequested', memoryIds: all.slice(i, i + RESCAN_CHUNK), reason: `guard rescan from offset ${since}` },
      });
    }
    return { scope, memoryIds: all.length, events };
  });
}
