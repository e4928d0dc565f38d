/**
 * The ingest bridge: reads `conversation-events`, decodes and validates each record, dead-letters
 * what cannot be used (with the reason), and hands valid events to their user's memory workflow.
 * Offsets are committed only after the hand-off is durable, so a crash re-delivers, and the
 * workflow drops what it has already seen.
 */
import { EngramError } from '../core/errors.js';
import type { PositionedEvent } from '../core/model.js';
import { TOPICS } from '../core/model.js';
import type { EventLog, LogConsumer, LogRecord } from '../core/ports.js';
import { scopeKey, workflowIdOf } from '../core/scope.js';
import { decodeConversationEvent } from '../schemas/codec.js';
import { validateConversationEvent } from '../schemas/conversation-input.js';
import { RecordSealer, type OpenedRecord } from './record-sealer.js';

/** Durably delivers events to a workflow (embedded runner signal, or Temporal signalWithStart). */
export type HandOff = (workflowId: string, events: readonly PositionedEvent[]) => Promise<void>;

export interface BridgeResult {
  readonly read: number;
  readonly handedOff: number;
  readonly deadLettered: number;
  /** Records whose key was destroyed by an erasure: skipped, never dead-lettered. */
  readonly erased?: number;
}

/** Decodes and validates one record; returns the event or the reason it is unusable. */
export function admit(record: LogRecord): { ok: true; event: PositionedEvent } | { ok: false; code: string; reason: string } {
  try {
    const event = decodeConversationEvent(record.value);
    validateConversationEvent(event);
    if (record.key !== scopeKey(event)) {
      return { ok: false, code: 'key_mismatch', reason: `record key ${JSON.stringify(record.key)} is not ${scopeKey(event)}` };
    }
    return { ok: true, event: { event, position: { topic: record.topic, partition: record.partition, offset: record.offset } } };
  } catch (err) {
    if (err instanceof EngramError && !err.retriable) return { ok: false, code: err.code, reason: err.message };
    throw err;
  }
}

export class IngestBridge {
  private readonly consumer: LogConsumer;

  constructor(
    private readonly log: EventLog,
    private readonly handOff: HandOff,
    group = 'ingest-bridge',
    private readonly sealer: RecordSealer = new RecordSealer(null),
  ) {
    this.consumer = log.consumer(group, TOPICS.conversation);
  }

  /** Processes up to `max` records; returns what happened to them. */
  async pollOnce(max = 256): Promise<BridgeResult> {
    const records = await this.consumer.fetch(max);
    if (records.length === 0) return { read: 0, handedOff: 0, deadLettered: 0 };
    const byWorkflow = new Map<string, PositionedEvent[]>();
    const dead: { record: LogRecord; code: string; reason: string }[] = [];
    let erased = 0;
    for (const record of records) {
      let opened: OpenedRecord;
      try {
        opened = await this.sealer.open(record);
      } catch (err) {
        if (!(err instanceof EngramError) || err.retriable) throw err;
        dead.push({ record, code: err.code, reason: err.message });
        continue;
      }
      if (opened.erased) {
        erased++;
        continue;
      }
      const verdict = admit({ ...record, value: opened.bytes });
      if (verdict.ok) {
        const id = workflowIdOf(verdict.event.event);
        const list = byWorkflow.get(id) ?? [];
        list.push(verdict.event);
        byWorkflow.set(id, list);
      } else {
        dead.push({ record, code: verdict.code, reason: verdict.reason });
      }
    }
    if (dead.length > 0) {
      await this.log.append(
        TOPICS.conversationDlq,
        dead.map(({ record, code, reason }) => ({
          key: record.key,
          value: record.value,
          headers: {
            'dlq-code': code,
            'dlq-reason': reason.slice(0, 1000),
            'dlq-source': `${record.topic}/${record.partition}/${record.offset}`,
          },
          dedupKey: `${record.topic}/${record.partition}/${record.offset}`,
        })),
      );
    }
    for (const [workflowId, events] of byWorkflow) await this.handOff(workflowId, events);
    await this.consumer.commit(records);
    return { read: records.length, handedOff: records.length - dead.length - erased, deadLettered: dead.length, erased };
  }

  /** Records waiting for the bridge. */
  lag(): Promise<number> {
    return this.consumer.lag();
  }
}
