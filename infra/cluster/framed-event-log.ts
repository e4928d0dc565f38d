/**
 * An EventLog that stores Engram's topics in another wire framing (the Confluent schema-registry
 * format, when a registry is configured) while everything above it keeps seeing Avro single-object
 * bytes. Records that cannot be unframed pass through unchanged, so the ingest bridge dead-letters
 * them as undecodable instead of stalling the stream.
 */
import { isSealed } from '../../schemas/sealed-envelope.js';
import { EngramError } from '../../core/errors.js';
import type { LogPosition } from '../../core/model.js';
import type { AppendRecord, EventLog, LogConsumer, LogRecord } from '../../core/ports.js';
import type { SchemaRegistryClient } from './schema-registry.js';

/** Converts values between the log's framing and single-object encoding. */
export interface WireFraming {
  toWire(singleObject: Uint8Array): Uint8Array;
  fromWire(wire: Uint8Array): Promise<Uint8Array>;
}

/** The Confluent framing of a registry client whose catalogue is registered. */
export function confluentFraming(registry: SchemaRegistryClient): WireFraming {
  return { toWire: (b) => registry.toConfluent(b), fromWire: (b) => registry.fromConfluentAsync(b) };
}

export class FramedEventLog implements EventLog {
  constructor(
    private readonly inner: EventLog,
    private readonly framing: WireFraming,
    /** Topics stored framed; others (dead-letter topics keep the bytes they received) pass through. */
    private readonly topics: ReadonlySet<string>,
  ) {}

  ensureTopic(topic: string, partitions: number): Promise<void> {
    return this.inner.ensureTopic(topic, partitions);
  }

  append(topic: string, records: readonly AppendRecord[]): Promise<LogPosition[]> {
    if (!this.topics.has(topic)) return this.inner.append(topic, records);
    return this.inner.append(
      topic,
      // Sealed records (schemas/sealed-envelope.ts) are ciphertext, not Avro: they travel as they are.
      records.map((r) => ({ ...r, value: isSealed(r.value) ? r.value : this.framing.toWire(r.value) })),
    );
  }

  async read(topic: string, partition: number, fromOffset: number, max: number): Promise<LogRecord[]> {
    return this.unframe(topic, await this.inner.read(topic, partition, fromOffset, max));
  }

  partitions(topic: string): Promise<number> {
    return this.inner.partitions(topic);
  }

  endOffset(topic: string, partition: number): Promise<number> {
    return this.inner.endOffset(topic, partition);
  }

  consumer(group: string, topic: string): LogConsumer {
    const inner = this.inner.consumer(group, topic);
    return {
      fetch: async (max) => this.unframe(topic, await inner.fetch(max)),
      commit: (records) => inner.commit(records),
      lag: () => inner.lag(),
    };
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private async unframe(topic: string, records: LogRecord[]): Promise<LogRecord[]> {
    if (!this.topics.has(topic)) return records;
    const out: LogRecord[] = [];
    for (const r of records) {
      try {
        out.push({ ...r, value: await this.framing.fromWire(r.value) });
      } catch (err) {
        // A registry that is down may come back: let the caller retry. Bad bytes stay as they are.
        if (err instanceof EngramError && err.retriable) throw err;
        if (!(err instanceof EngramError)) throw err;
        out.push(r);
      }
    }
    return out;
  }
}

