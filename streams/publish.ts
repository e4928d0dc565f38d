/**
 * How a conversation event becomes a `conversation-events` record, for every publisher: key
 * `tenant/user` (one user's events stay in order), Avro single-object value, the event id as the
 * dedup key and as a header (for consumers of logs without dedup, such as Kafka).
 */
import type { ConversationEvent } from '../core/model.js';
import type { AppendRecord } from '../core/ports.js';
import { scopeKey } from '../core/scope.js';
import { encodeConversationEvent } from '../schemas/codec.js';

/** The log records of validated conversation events, in order. */
export function conversationRecordsOf(events: readonly ConversationEvent[]): AppendRecord[] {
  return events.map((e) => ({
    key: scopeKey(e),
    value: encodeConversationEvent(e),
    headers: { 'event-type': e.payload.type, 'event-id': e.eventId },
    dedupKey: e.eventId,
  }));
}
