/**
 * Quotes the source messages of memories from the conversation log: provenance shown as the words
 * that were said, not only as log positions. Sealed records are opened with the user's keys; an
 * erased message quotes as null (its key is gone), and a record of another user is never quoted.
 */
import type { SourceRef } from '../core/model.js';
import type { EventLog } from '../core/ports.js';
import type { Scope } from '../core/scope.js';
import { decodeConversationEvent } from '../schemas/codec.js';
import type { RecordSealer } from './record-sealer.js';

/** A source message as it reads in the log (text null once erased or unreadable). */
export interface SourceQuote {
  readonly eventId: string;
  readonly messageId: string;
  readonly role: string | null;
  readonly speaker: string | null;
  readonly text: string | null;
  readonly occurredAt: number | null;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

/** Reads each source's record at its position and quotes the message (in the order given, deduplicated). */
export async function readSourceQuotes(log: EventLog, sealer: RecordSealer, scope: Scope, sources: readonly SourceRef[]): Promise<SourceQuote[]> {
  const out: SourceQuote[] = [];
  const seen = new Set<string>();
  for (const src of sources) {
    const key = `${src.topic}/${src.partition}/${src.offset}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const blank: SourceQuote = { ...positionOf(src), role: null, speaker: null, text: null, occurredAt: null };
    const [record] = await log.read(src.topic, src.partition, src.offset, 1);
    if (!record || record.offset !== src.offset) {
      out.push(blank);
      continue;
    }
    try {
      const opened = await sealer.open(record);
      if (opened.erased) {
        out.push(blank);
        continue;
      }
      const event = decodeConversationEvent(opened.bytes);
      // A position is only trusted when the record there is this user's event.
      if (event.tenantId !== scope.tenantId || event.userId !== scope.userId || event.eventId !== src.eventId) {
        out.push(blank);
        continue;
      }
      const p = event.payload;
      if (p.type === 'MessagePosted') {
        const captions = p.attachmentCaptions.length > 0 ? ` [${p.attachmentCaptions.join('; ')}]` : '';
        out.push({ ...blank, role: p.role, speaker: p.speaker, text: p.text + captions, occurredAt: event.occurredAt });
      } else if (p.type === 'MessageEdited') {
        out.push({ ...blank, text: p.text, occurredAt: event.occurredAt });
      } else {
        out.push({ ...blank, occurredAt: event.occurredAt });
      }
    } catch {
      // Undecodable (dead-lettered) or unopenable: provenance stays a position without a quote.
      out.push(blank);
    }
  }
  return out;
}

function positionOf(src: SourceRef): Pick<SourceQuote, 'eventId' | 'messageId' | 'topic' | 'partition' | 'offset'> {
  return { eventId: src.eventId, messageId: src.messageId, topic: src.topic, partition: src.partition, offset: src.offset };
}
