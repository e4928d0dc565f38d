/**
 * Positional reads of one topic (`EventLog.read`) for projectors and replay, which keep their own
 * checkpoints. kafkajs has no `assign()`, so a reader is a consumer in a group of its own (a
 * unique id, never committed) that owns every partition, keeps them all paused, and for each read
 * seeks the partition (unless the read continues where the previous one ended), resumes it,
 * waits for the records, and pauses it again. Records fetched beyond a read stay buffered for
 * the next one.
 */
import type { Consumer, EachBatchPayload } from 'kafkajs';
import type { LogRecord } from '../../core/ports.js';
import type { KafkaConsumerSettings, KafkaLogHost } from './kafka-consumer.js';
import { LazyStart, Signal, newKafkaConsumer, runConsumer, toLogRecord, withTimeout } from './kafka-consumer.js';
import { kafkaClosed, kafkaTimeout, toKafkaError } from './kafka-errors.js';

interface Cursor {
  /** The offset the consumer delivers next for this partition; null when unknown (seek first). */
  next: number | null;
  /** Records from the last read's end (or the seek offset) up to `next`, in offset order. */
  buffer: LogRecord[];
}

/** Reads any partition of one topic from any offset. */
export class KafkaTopicReader {
  private readonly started = new LazyStart(() => this.launch());
  private readonly cursors = new Map<number, Cursor>();
  private readonly arrived = new Signal();
  /** The partition a read is waiting on, if any (reads run one at a time). */
  private active: number | null = null;
  private failure: unknown = null;
  private closed = false;
  private tail: Promise<unknown> = Promise.resolve();
  /** Seeks issued, for tests: a read that continues the previous one issues none. */
  seeks = 0;

  constructor(
    private readonly host: KafkaLogHost,
    readonly topic: string,
    private readonly groupId: string,
    private readonly settings: KafkaConsumerSettings,
  ) {}

  /**
   * Up to `max` records of `partition` from `fromOffset`, waiting until `want` of them (the caller
   * knows how many exist below the high watermark `high`) have arrived, or throwing a retriable
   * KafkaError after the operation timeout.
   */
  read(partition: number, fromOffset: number, want: number, max: number, high: number): Promise<LogRecord[]> {
    const run = this.tail.then(() => this.readNow(partition, fromOffset, want, max, high));
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Leaves the reader's group. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.arrived.notify();
    const pending = this.started.starting;
    const starting = pending ? withTimeout(pending, this.settings.closeTimeoutMs, 'close').catch(() => null) : null;
    const consumer = this.started.current ?? (await starting) ?? null;
    this.started.reset();
    if (consumer) await withTimeout(consumer.disconnect(), this.settings.closeTimeoutMs, 'disconnect').catch(() => undefined);
  }

  // ------------------------------------------------------------ internals

  private async readNow(partition: number, from: number, want: number, max: number, high: number): Promise<LogRecord[]> {
    if (this.closed) throw kafkaClosed('read');
    const consumer = await this.started.get();
    const cursor = this.cursors.get(partition) ?? { next: null, buffer: [] };
    this.cursors.set(partition, cursor);
    const first = cursor.buffer[0]?.offset ?? cursor.next;
    if (cursor.next !== null && first !== null && first <= from && from <= cursor.next) {
      // Continues the previous read (or rereads what is still buffered): no seek.
      cursor.buffer = cursor.buffer.filter((r) => r.offset >= from);
    } else {
      this.seek(consumer, partition, cursor, from);
    }
    this.active = partition;
    consumer.resume([{ topic: this.topic, partitions: [partition] }]);
    const deadline = performance.now() + this.settings.operationTimeoutMs;
    try {
      for (;;) {
        this.throwIfFailed();
        if (this.closed) throw kafkaClosed('read');
        if (cursor.buffer.length >= want || (cursor.next ?? 0) >= high) break;
        const left = deadline - performance.now();
        if (left <= 0) {
          throw kafkaTimeout(`read ${this.topic}/${partition} from ${from}`, this.settings.operationTimeoutMs, {
            topic: this.topic,
            partition,
            fromOffset: from,
            got: cursor.buffer.length,
            want,
          });
        }
        await this.arrived.wait(left);
      }
      return cursor.buffer.splice(0, max);
    } finally {
      this.active = null;
      if (this.started.current === consumer) consumer.pause([{ topic: this.topic, partitions: [partition] }]);
    }
  }

  private seek(consumer: Consumer, partition: number, cursor: Cursor, offset: number): void {
    cursor.buffer = [];
    cursor.next = offset;
    consumer.seek({ topic: this.topic, partition, offset: String(offset) });
    this.seeks++;
  }

  private onBatch({ batch, isStale }: EachBatchPayload): void {
    // A batch fetched before a pending seek is from the old position.
    if (this.closed || isStale()) return;
    const partition = batch.partition;
    const cursor = this.cursors.get(partition);
    if (!cursor || cursor.next === null) return;
    for (const m of batch.messages) {
      const offset = Number(m.offset);
      if (offset < cursor.next) continue;
      cursor.buffer.push(toLogRecord(this.topic, partition, m));
      cursor.next = offset + 1;
    }
    // Control records of transactions are filtered out but still take offsets.
    cursor.next = Math.max(cursor.next, Number(batch.lastOffset()) + 1);
    this.arrived.notify();
  }

  private onJoin(consumer: Consumer, assigned: number[]): void {
    // A (re)join resets kafkajs's positions: keep every partition paused and forget positions,
    // except for the partition a read is waiting on, which is sought again where it stands.
    if (assigned.length > 0) consumer.pause([{ topic: this.topic, partitions: assigned }]);
    for (const [partition, cursor] of this.cursors) {
      if (partition === this.active && cursor.next !== null) {
        consumer.seek({ topic: this.topic, partition, offset: String(cursor.next) });
        consumer.resume([{ topic: this.topic, partitions: [partition] }]);
      } else {
        cursor.next = null;
        cursor.buffer = [];
      }
    }
  }

  private throwIfFailed(): void {
    if (this.failure === null) return;
    const failure = this.failure;
    this.failure = null;
    const consumer = this.started.current;
    this.started.reset();
    this.cursors.clear();
    if (consumer) void consumer.disconnect().catch(() => undefined);
    throw toKafkaError(failure, `reader of ${this.topic}`);
  }

  private async launch(): Promise<Consumer> {
    const consumer = newKafkaConsumer(this.host, this.groupId, this.settings);
    consumer.on(consumer.events.GROUP_JOIN, (e) => this.onJoin(consumer, e.payload.memberAssignment[this.topic] ?? []));
    consumer.on(consumer.events.CRASH, (e) => {
      if (!e.payload.restart) this.failure = e.payload.error;
      this.arrived.notify();
    });
    await runConsumer(consumer, this.topic, this.settings, `start reader of ${this.topic}`, async (p) => this.onBatch(p));
    if (this.closed) {
      await consumer.disconnect().catch(() => undefined);
      throw kafkaClosed('read');
    }
    return consumer;
  }
}
