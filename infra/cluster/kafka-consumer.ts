/**
 * A consumer-group member over Kafka with the embedded log's semantics: `fetch` returns records
 * from the group's committed offsets on (so a fetch that is not committed is delivered again,
 * by this consumer or after a restart), and only `commit` moves the group forward.
 *
 * kafkajs pushes batches into a bounded in-memory buffer of uncommitted records; above the
 * high-water mark the topic is paused, and it is resumed once commits bring the buffer under the
 * low-water mark. kafkajs resolves each batch's offsets (its fetch position) but never commits:
 * offsets are committed only by `commit`, after the caller's effect is durable.
 */
import type { Consumer, EachBatchPayload, IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import { ValidationError } from '../../core/errors.js';
import type { LogPosition } from '../../core/model.js';
import type { LogConsumer, LogRecord } from '../../core/ports.js';
import { KafkaError, guardKafka, kafkaClosed, kafkaTimeout, toKafkaError } from './kafka-errors.js';
import { checkCount, commitTargets } from '../log-checks.js';

/** Timing and buffering of consumers and readers. */
export interface KafkaConsumerSettings {
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  /** How long the broker may hold a fetch request open when there is no data. */
  readonly maxWaitTimeMs: number;
  /** How long `fetch` waits for records when none are buffered. */
  readonly fetchWaitMs: number;
  /** Buffered records at which the topic is paused. */
  readonly highWaterMark: number;
  /** Buffered records under which a paused topic is resumed. */
  readonly lowWaterMark: number;
  /** Bound on joining a group and on `read` waiting for records. */
  readonly operationTimeoutMs: number;
  /** Bound on leaving a group when closing. */
  readonly closeTimeoutMs: number;
  /** kafkajs retries per request. */
  readonly retries: number;
}

/** What consumers and readers need from the log that owns them. */
export interface KafkaLogHost {
  readonly kafka: Kafka;
  /** Throws a non-retriable KafkaError once the log is closed. */
  checkOpen(what: string): void;
  partitions(topic: string): Promise<number>;
  /** Low and high watermark of every partition, by partition number. */
  watermarks(topic: string): Promise<{ low: number; high: number }[]>;
  /** The group's committed next offset of every partition, -1 where it never committed. */
  committed(groupId: string, topic: string): Promise<number[]>;
}

/** Counters for tests and metrics. */
export interface ConsumerStats {
  readonly buffered: number;
  readonly paused: boolean;
  readonly pauses: number;
  readonly resumes: number;
  readonly maxBuffered: number;
}

function decodeHeaders(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, raw] of Object.entries(headers ?? {})) {
    // Kafka allows repeated header names; the last one wins, as a Record can hold only one.
    const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    if (value !== undefined) out[name] = typeof value === 'string' ? value : value.toString('utf8');
  }
  return out;
}

/** A kafkajs message as a LogRecord: key and headers as UTF-8 strings, the value as a Buffer. */
export function toLogRecord(topic: string, partition: number, m: KafkaMessage): LogRecord {
  return {
    topic,
    partition,
    offset: Number(m.offset),
    key: m.key === null ? '' : m.key.toString('utf8'),
    // A copy: kafkajs values are slices of the whole fetch response, which a buffered record would keep alive.
    value: m.value ? Buffer.from(m.value) : Buffer.alloc(0),
    headers: decodeHeaders(m.headers),
    timestamp: Number(m.timestamp),
  };
}

/** Wakes waiters when something arrived; a wait also ends after its timeout. */
export class Signal {
  private readonly waiters = new Set<() => void>();

  /** Wakes every current waiter. */
  notify(): void {
    const now = [...this.waiters];
    this.waiters.clear();
    for (const wake of now) wake();
  }

  /** Resolves on the next notify, or after `ms`. */
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined = undefined;
      const wake = (): void => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      timer = setTimeout(wake, ms);
      this.waiters.add(wake);
    });
  }
}

/** Rejects with a retriable timeout when `p` takes longer than `ms`. */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string, details?: Record<string, unknown>): Promise<T> {
  let timer: NodeJS.Timeout | undefined = undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(kafkaTimeout(what, ms, details)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A kafkajs consumer in group `groupId` with the settings' timings and retries (not connected yet). */
export function newKafkaConsumer(host: KafkaLogHost, groupId: string, settings: KafkaConsumerSettings): Consumer {
  return host.kafka.consumer({
    groupId,
    sessionTimeout: settings.sessionTimeoutMs,
    rebalanceTimeout: settings.rebalanceTimeoutMs,
    heartbeatInterval: settings.heartbeatIntervalMs,
    maxWaitTimeInMs: settings.maxWaitTimeMs,
    allowAutoTopicCreation: false,
    retry: { retries: settings.retries },
  });
}

/**
 * Connects `consumer`, subscribes it to `topic` (from the beginning where its group has no offsets)
 * and runs it without auto-commit, all within the operation timeout. On failure it disconnects the
 * consumer and throws a KafkaError about `what`.
 */
export async function runConsumer(
  consumer: Consumer,
  topic: string,
  settings: KafkaConsumerSettings,
  what: string,
  eachBatch: (payload: EachBatchPayload) => Promise<void>,
): Promise<void> {
  try {
    await withTimeout(
      (async () => {
        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: true });
        await consumer.run({ autoCommit: false, eachBatchAutoResolve: true, eachBatch });
      })(),
      settings.operationTimeoutMs,
      what,
    );
  } catch (err) {
    await consumer.disconnect().catch(() => undefined);
    throw toKafkaError(err, what);
  }
}

/**
 * A value started on first use, once however many callers wait for it. A failed start is
 * forgotten, so the next use starts again.
 */
export class LazyStart<T> {
  private value: T | null = null;
  private pending: Promise<T> | null = null;

  constructor(private readonly launch: () => Promise<T>) {}

  /** The started value, starting it if needed. */
  get(): Promise<T> {
    if (this.value !== null) return Promise.resolve(this.value);
    this.pending ??= this.launch().then(
      (value) => {
        this.value = value;
        return value;
      },
      (err: unknown) => {
        this.pending = null;
        throw err;
      },
    );
    return this.pending;
  }

  /** The value once started, else null. */
  get current(): T | null {
    return this.value;
  }

  /** The start under way (or done), else null. */
  get starting(): Promise<T> | null {
    return this.pending;
  }

  /** Forgets the value and any start, so that the next `get` starts again; the caller disposes of the old value. */
  reset(): void {
    this.value = null;
    this.pending = null;
  }
}


/** A member of consumer group `groupId` on one topic. */
export class KafkaLogConsumer implements LogConsumer {
  /** Joins the group on first use (fromBeginning for a group without offsets). */
  private readonly joined = new LazyStart(() => this.join());
  /** The kafkajs consumer being started or running (batches can arrive before the join resolves). */
  private handle: Consumer | null = null;
  /** Uncommitted records per partition, in offset order, without duplicates. */
  private readonly queues = new Map<number, LogRecord[]>();
  /** Per partition, the offset under which everything is known to be committed. */
  private readonly floor = new Map<number, number>();
  private buffered = 0;
  private paused = false;
  private lead = 0;
  private failure: unknown = null;
  private closed = false;
  private readonly arrived = new Signal();
  private counters = { pauses: 0, resumes: 0, maxBuffered: 0 };

  constructor(
    private readonly host: KafkaLogHost,
    readonly groupId: string,
    readonly topic: string,
    private readonly settings: KafkaConsumerSettings,
  ) {}

  /** Up to `max` uncommitted records, round-robin over partitions, in offset order within each. */
  async fetch(max: number): Promise<LogRecord[]> {
    checkCount('max', max, 0);
    this.host.checkOpen('fetch');
    if (this.closed) throw kafkaClosed('fetch');
    await this.host.partitions(this.topic);
    if (max === 0) return [];
    await this.joined.get();
    if (this.buffered === 0) await this.arrived.wait(this.settings.fetchWaitMs);
    this.throwIfFailed();
    this.maybeResume();
    return this.take(max);
  }

  /** Commits, per partition, the offset after the highest record; never backwards, never past the end. */
  async commit(records: readonly LogPosition[]): Promise<void> {
    this.host.checkOpen('commit');
    if (this.closed) throw kafkaClosed('commit');
    const partitions = await this.host.partitions(this.topic);
    const next = commitTargets(this.topic, partitions, records);
    if (next.size === 0) return;
    const [marks, before] = await Promise.all([this.host.watermarks(this.topic), this.host.committed(this.groupId, this.topic)]);
    for (const [partition, n] of next) {
      const end = marks[partition]?.high ?? 0;
      if (n > end) {
        throw new ValidationError(`offset ${n - 1} is past the end (${end}) of ${this.topic}/${partition}`, {
          topic: this.topic,
          partition,
        });
      }
    }
    // Another member (or an earlier run) may have committed further; never move it back.
    const forward = [...next].filter(([p, n]) => n > (before[p] ?? -1));
    if (forward.length > 0) {
      const consumer = await this.joined.get();
      const offsets = forward.map(([partition, n]) => ({ topic: this.topic, partition, offset: String(n) }));
      await guardKafka(`commit ${this.groupId} ${this.topic}`, () => consumer.commitOffsets(offsets));
      // kafkajs silently skips a commit when its runner has stopped; check that it landed.
      const after = await this.host.committed(this.groupId, this.topic);
      const missed = forward.filter(([p, n]) => (after[p] ?? -1) < n);
      if (missed.length > 0) {
        throw new KafkaError(`commit ${this.groupId} ${this.topic}: offsets were not stored`, {
          retriable: true,
          details: { partitions: missed.map(([p]) => p) },
        });
      }
    }
    for (const [partition, n] of next) this.raiseFloor(partition, Math.max(n, before[partition] ?? -1));
    this.maybeResume();
  }

  /** Records not yet committed by this group: high watermark minus committed offset, summed. */
  async lag(): Promise<number> {
    this.host.checkOpen('lag');
    const [marks, committed] = await Promise.all([this.host.watermarks(this.topic), this.host.committed(this.groupId, this.topic)]);
    let lag = 0;
    marks.forEach(({ low, high }, p) => {
      const from = Math.max(committed[p] ?? -1, low);
      lag += Math.max(0, high - from);
    });
    return lag;
  }

  /** Buffering and pause counters (for tests and metrics). */
  stats(): ConsumerStats {
    return { buffered: this.buffered, paused: this.paused, ...this.counters };
  }

  /** Leaves the group; records fetched but not committed will be delivered to the next member. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.arrived.notify();
    // Let a join in progress finish (bounded): kafkajs could restart a consumer that crashes mid-join.
    const starting = this.joined.starting;
    if (starting) await withTimeout(starting, this.settings.closeTimeoutMs, 'close').catch(() => null);
    const consumer = this.handle;
    this.joined.reset();
    this.handle = null;
    if (consumer) await withTimeout(consumer.disconnect(), this.settings.closeTimeoutMs, 'disconnect').catch(() => undefined);
  }

  /** True once closed; the log hands out a new consumer for the group then. */
  get isClosed(): boolean {
    return this.closed;
  }

  // ------------------------------------------------------------ internals

  private take(max: number): LogRecord[] {
    const partitions = [...this.queues.keys()].filter((p) => (this.queues.get(p)?.length ?? 0) > 0).sort((a, b) => a - b);
    if (partitions.length === 0) return [];
    const out: LogRecord[] = [];
    const cursors = new Map<number, number>();
    // Rotate which partition leads, so a small `max` cannot starve later partitions.
    const start = this.lead % partitions.length;
    this.lead = start + 1;
    for (let took = true; took && out.length < max; ) {
      took = false;
      for (let i = 0; i < partitions.length && out.length < max; i++) {
        const p = partitions[(start + i) % partitions.length] as number;
        const at = cursors.get(p) ?? 0;
        const rec = this.queues.get(p)?.[at];
        if (rec) {
          out.push(rec);
          cursors.set(p, at + 1);
          took = true;
        }
      }
    }
    return out;
  }

  private raiseFloor(partition: number, next: number): void {
    if (next <= (this.floor.get(partition) ?? 0)) return;
    this.floor.set(partition, next);
    const queue = this.queues.get(partition);
    if (!queue) return;
    const keep = queue.filter((r) => r.offset >= next);
    this.buffered -= queue.length - keep.length;
    this.queues.set(partition, keep);
  }

  private onBatch(consumer: Consumer, { batch }: EachBatchPayload): void {
    if (this.closed) return;
    const partition = batch.partition;
    const queue = this.queues.get(partition) ?? [];
    const floor = this.floor.get(partition) ?? 0;
    let last = queue.length > 0 ? (queue[queue.length - 1] as LogRecord).offset : -1;
    for (const m of batch.messages) {
      const offset = Number(m.offset);
      // A re-fetch after a rebalance or a commit made elsewhere can overlap what is buffered.
      if (offset <= last || offset < floor) continue;
      queue.push(toLogRecord(this.topic, partition, m));
      last = offset;
      this.buffered++;
    }
    this.queues.set(partition, queue);
    this.counters.maxBuffered = Math.max(this.counters.maxBuffered, this.buffered);
    if (!this.paused && this.buffered >= this.settings.highWaterMark) {
      // The batch in hand is kept whole; pausing only stops further fetches.
      consumer.pause([{ topic: this.topic }]);
      this.paused = true;
      this.counters.pauses++;
    }
    this.arrived.notify();
  }

  private onJoin(consumer: Consumer): void {
    // A new generation starts again from the committed offsets: what is buffered will come again.
    this.queues.clear();
    this.buffered = 0;
    if (this.paused) {
      consumer.resume([{ topic: this.topic }]);
      this.paused = false;
      this.counters.resumes++;
    }
  }

  private maybeResume(): void {
    if (this.paused && this.handle && this.buffered <= this.settings.lowWaterMark) {
      this.handle.resume([{ topic: this.topic }]);
      this.paused = false;
      this.counters.resumes++;
    }
  }

  private throwIfFailed(): void {
    if (this.failure === null) return;
    const failure = this.failure;
    // The kafkajs consumer gave up; forget it so that the next call starts a new one.
    this.failure = null;
    const consumer = this.handle;
    this.joined.reset();
    this.handle = null;
    this.queues.clear();
    this.buffered = 0;
    this.paused = false;
    if (consumer) void consumer.disconnect().catch(() => undefined);
    throw toKafkaError(failure, `consumer ${this.groupId} on ${this.topic}`);
  }

  /** Starts a member of the group; fails with a closed error when the log closed meanwhile. */
  private async join(): Promise<Consumer> {
    const consumer = await this.launch();
    if (this.closed) {
      void consumer.disconnect().catch(() => undefined);
      throw kafkaClosed('fetch');
    }
    return consumer;
  }

  private async launch(): Promise<Consumer> {
    const consumer = newKafkaConsumer(this.host, this.groupId, this.settings);
    this.handle = consumer;
    consumer.on(consumer.events.GROUP_JOIN, () => this.onJoin(consumer));
    consumer.on(consumer.events.CRASH, (e) => {
      if (!e.payload.restart) this.failure = e.payload.error;
      this.arrived.notify();
    });
    const what = `join group ${this.groupId} on ${this.topic}`;
    try {
      await runConsumer(consumer, this.topic, this.settings, what, async (payload) => this.onBatch(consumer, payload));
    } catch (err) {
      if (this.handle === consumer) this.handle = null;
      throw err;
    }
    return consumer;
  }
}
