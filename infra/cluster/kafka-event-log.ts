/**
 * The cluster EventLog: Kafka through kafkajs. Keys are partitioned with Kafka's murmur2 exactly
 * as the embedded log does (`partitionForKey`), so a key lands in the same partition in both
 * profiles. Appends are acknowledged by all in-sync replicas (`acks: -1`) from an idempotent
 * producer (where the broker supports it).
 *
 * Kafka has no dedup by key: `dedupKey` travels as the `dedup-key` header, and idempotence
 * downstream comes from deterministic ids (DESIGN §4.3): a retried append may write a record
 * twice, and consumers drop what they have already applied.
 */
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import type { Admin, ICustomPartitioner, Kafka, Message, Producer } from 'kafkajs';
import { ConfigError, ValidationError } from '../../core/errors.js';
import type { Config, RequiredClusterSettings } from '../config.js';
import type { LogPosition } from '../../core/model.js';
import type { AppendRecord, EventLog, LogRecord } from '../../core/ports.js';
import { partitionForKey } from '../embedded/partitioner.js';
import type { KafkaConsumerSettings, KafkaLogHost } from './kafka-consumer.js';
import { KafkaLogConsumer, withTimeout } from './kafka-consumer.js';
import { KafkaError, guardKafka, kafkaClosed } from './kafka-errors.js';
import { KafkaTopicReader } from './kafka-reader.js';
import { LOG_NAME_RE, checkCount, checkName } from '../log-checks.js';

const { Kafka: KafkaClient, logLevel: KafkaLogLevel } = kafkajs;

// Kafka's legal topic names; group names follow the same rule, as in the embedded log.
const MAX_PARTITIONS = 10_000;

/** The header that carries `AppendRecord.dedupKey`. */
export const DEDUP_HEADER = 'dedup-key';

/** Log levels accepted for kafkajs's own logging (the config's names, plus kafkajs's `nothing`). */
export type KafkaLogLevelName = 'silent' | 'nothing' | 'error' | 'warn' | 'info' | 'debug';

export interface KafkaEventLogOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** Replication factor of topics that `ensureTopic` creates. */
  readonly replicationFactor: number;
  /** TCP connect timeout per broker (default 3000 ms). */
  readonly connectionTimeoutMs?: number;
  /** Per-request timeout (default 30000 ms). */
  readonly requestTimeoutMs?: number;
  /** kafkajs log level (default `error`). */
  readonly logLevel?: KafkaLogLevelName;
  /** Prefixed to every consumer group id (and reader group ids), e.g. a deployment name. */
  readonly groupPrefix?: string;
  /** Idempotent producer (default true). librdkafka's mock cluster needs false. */
  readonly idempotent?: boolean;
  /** kafkajs retries per request (default 5); bounds how long a dead broker is waited for. */
  readonly retries?: number;
  /** How long `fetch` waits when nothing is buffered (default 200 ms). */
  readonly fetchWaitMs?: number;
  /** Buffered records per consumer at which its topic is paused (default 1000). */
  readonly highWaterMark?: number;
  /** Buffered records under which a paused consumer resumes (default half the high-water mark). */
  readonly lowWaterMark?: number;
  /** Bound on joining a group and on `read` waiting for records (default 30000 ms). */
  readonly operationTimeoutMs?: number;
  /** Bound on each step of `close` (default 10000 ms), so a SIGTERM handler finishes in time. */
  readonly closeTimeoutMs?: number;
  readonly sessionTimeoutMs?: number;
  readonly rebalanceTimeoutMs?: number;
  readonly heartbeatIntervalMs?: number;
  /** How long the broker may hold an empty fetch (default 250 ms; also the pause/seek latency). */
  readonly maxWaitTimeMs?: number;
}

const LOG_LEVELS: Readonly<Record<KafkaLogLevelName, number>> = {
  silent: KafkaLogLevel.NOTHING,
  nothing: KafkaLogLevel.NOTHING,
  error: KafkaLogLevel.ERROR,
  warn: KafkaLogLevel.WARN,
  info: KafkaLogLevel.INFO,
  debug: KafkaLogLevel.DEBUG,
};



function positive(name: string, value: number | undefined, fallback: number, min = 1): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < min) throw new ConfigError(`Kafka option ${name} must be an integer >= ${min}, got ${v}`);
  return v;
}

// kafkajs logs one level quieter than the service: its info level narrates every rebalance.
const SERVICE_TO_KAFKA_LEVEL: Readonly<Record<Config['logLevel'], KafkaLogLevelName>> = {
  silent: 'nothing',
  error: 'error',
  warn: 'error',
  info: 'warn',
  debug: 'info',
};

/** The log's options from the validated config; `extra` overrides (timeouts, group prefix, ...). */
export function kafkaEventLogOptions(
  config: Pick<Config, 'logLevel'> & { readonly cluster: Pick<RequiredClusterSettings, 'kafkaBrokers' | 'kafkaClientId' | 'kafkaReplication'> },
  extra: Partial<KafkaEventLogOptions> = {},
): KafkaEventLogOptions {
  return {
    brokers: config.cluster.kafkaBrokers,
    clientId: config.cluster.kafkaClientId,
    replicationFactor: config.cluster.kafkaReplication,
    logLevel: SERVICE_TO_KAFKA_LEVEL[config.logLevel],
    ...extra,
  };
}

/** kafkajs partitioner: Kafka's murmur2 over the UTF-8 key, the same function as the embedded log's. */
export const murmur2Partitioner: ICustomPartitioner =
  () =>
  ({ partitionMetadata, message }) => {
    const key = message.key;
    const text = key === null || key === undefined ? '' : typeof key === 'string' ? key : key.toString('utf8');
    return partitionForKey(text, partitionMetadata.length);
  };

/** An EventLog over a Kafka cluster. */
export class KafkaEventLog implements EventLog {
  private readonly topicCache = new Map<string, number>();
  private readonly consumers = new Map<string, KafkaLogConsumer>();
  private readonly readers = new Map<string, KafkaTopicReader>();
  private closing: Promise<void> | null = null;
  private readonly host: KafkaLogHost;

  private constructor(
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    private producer: Producer,
    private readonly opts: { clientId: string; replicationFactor: number; groupPrefix: string; idempotent: boolean; retries: number },
    private readonly settings: KafkaConsumerSettings,
  ) {
    this.host = {
      kafka,
      checkOpen: (what) => this.checkOpen(what),
      partitions: (topic) => this.partitions(topic),
      watermarks: (topic) => this.watermarks(topic),
      committed: (groupId, topic) => this.committed(groupId, topic),
    };
  }

  /** Connects the admin client and the producer; throws a retriable KafkaError when no broker answers. */
  static async open(opts: KafkaEventLogOptions): Promise<KafkaEventLog> {
    if (!Array.isArray(opts.brokers) || opts.brokers.length === 0) throw new ConfigError('Kafka needs at least one broker address');
    if (typeof opts.clientId !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(opts.clientId)) {
      throw new ConfigError(`invalid Kafka client id ${JSON.stringify(opts.clientId)}`);
    }
    const groupPrefix = opts.groupPrefix ?? '';
    if (groupPrefix !== '' && !LOG_NAME_RE.test(groupPrefix)) throw new ConfigError(`invalid Kafka group prefix ${JSON.stringify(groupPrefix)}`);
    const level = LOG_LEVELS[opts.logLevel ?? 'error'];
    if (level === undefined) throw new ConfigError(`unknown Kafka log level ${String(opts.logLevel)}`);
    const retries = positive('retries', opts.retries, 5, 0);
    const highWaterMark = positive('highWaterMark', opts.highWaterMark, 1000);
    const lowWaterMark = positive('lowWaterMark', opts.lowWaterMark, Math.floor(highWaterMark / 2), 0);
    if (lowWaterMark >= highWaterMark) throw new ConfigError('Kafka lowWaterMark must be below highWaterMark');
    const settings: KafkaConsumerSettings = {
      sessionTimeoutMs: positive('sessionTimeoutMs', opts.sessionTimeoutMs, 30_000),
      rebalanceTimeoutMs: positive('rebalanceTimeoutMs', opts.rebalanceTimeoutMs, 60_000),
      heartbeatIntervalMs: positive('heartbeatIntervalMs', opts.heartbeatIntervalMs, 3_000),
      maxWaitTimeMs: positive('maxWaitTimeMs', opts.maxWaitTimeMs, 250),
      fetchWaitMs: positive('fetchWaitMs', opts.fetchWaitMs, 200, 0),
      highWaterMark,
      lowWaterMark,
      operationTimeoutMs: positive('operationTimeoutMs', opts.operationTimeoutMs, 30_000),
      closeTimeoutMs: positive('closeTimeoutMs', opts.closeTimeoutMs, 10_000),
      retries,
    };
    const idempotent = opts.idempotent ?? true;
    const kafka = new KafkaClient({
      clientId: opts.clientId,
      brokers: [...opts.brokers],
      connectionTimeout: positive('connectionTimeoutMs', opts.connectionTimeoutMs, 3_000),
      requestTimeout: positive('requestTimeoutMs', opts.requestTimeoutMs, 30_000),
      logLevel: level,
      retry: { retries },
    });
    const admin = kafka.admin({ retry: { retries } });
    const producer = KafkaEventLog.newProducer(kafka, idempotent, retries);
    try {
      await guardKafka(`connect to ${opts.brokers.join(',')}`, async () => {
        await admin.connect();
        await producer.connect();
      });
    } catch (err) {
      await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
      throw err;
    }
    const replicationFactor = positive('replicationFactor', opts.replicationFactor, 1);
    return new KafkaEventLog(kafka, admin, producer, { clientId: opts.clientId, replicationFactor, groupPrefix, idempotent, retries }, settings);
  }

  private static newProducer(kafka: Kafka, idempotent: boolean, retries: number): Producer {
    return kafka.producer({
      idempotent,
      // The idempotent producer keeps order only with one request in flight per broker.
      maxInFlightRequests: idempotent ? 1 : undefined,
      allowAutoTopicCreation: false,
      createPartitioner: murmur2Partitioner,
      retry: { retries },
    });
  }

  /**
   * Creates the topic with the configured replication factor, or, when it exists, adds
   * partitions up to `partitions`. A topic with more partitions is a ValidationError (keys would
   * map differently from the configured count). Growing a topic moves keys between partitions:
   * per-key order holds only for records appended after the change.
   */
  async ensureTopic(topic: string, partitions: number): Promise<void> {
    this.checkOpen('ensureTopic');
    checkName('topic', topic);
    checkCount('partitions', partitions, 1);
    if (partitions > MAX_PARTITIONS) throw new ValidationError(`at most ${MAX_PARTITIONS} partitions, got ${partitions}`);
    // listTopics never auto-creates (a metadata request naming the topic might).
    const exists = (await guardKafka('list topics', () => this.admin.listTopics())).includes(topic);
    if (!exists) {
      const created = await guardKafka(`create topic ${topic}`, () =>
        this.admin.createTopics({
          topics: [{ topic, numPartitions: partitions, replicationFactor: this.opts.replicationFactor }],
          waitForLeaders: true,
        }),
      );
      if (created) {
        this.topicCache.set(topic, partitions);
        return;
      }
      // Someone else created it meanwhile: check it like an existing topic.
    }
    const existing = await this.fetchPartitionCount(topic);
    if (existing > partitions) {
      throw new ValidationError(`topic ${topic} has ${existing} partitions, more than ${partitions}; configure ${existing}`, {
        topic,
        partitions: existing,
        requested: partitions,
      });
    }
    if (existing < partitions) {
      await guardKafka(`add partitions to ${topic}`, () =>
        this.admin.createPartitions({ topicPartitions: [{ topic, count: partitions }] }),
      );
      // kafkajs refreshes producer metadata only every few minutes; a new connection sees the new partitions.
      await this.reconnectProducer();
    }
    this.topicCache.set(topic, partitions);
  }

  /**
   * Appends with `acks: -1`; each record goes to `partitionForKey(key)`. Positions come from the
   * produce response (base offset per partition plus the record's index in it), in input order.
   */
  async append(topic: string, records: readonly AppendRecord[]): Promise<LogPosition[]> {
    this.checkOpen('append');
    const partitions = await this.partitions(topic);
    for (const r of records) {
      if (typeof r.key !== 'string') throw new ValidationError(`record key must be a string in topic ${topic}`);
      if (!(r.value instanceof Uint8Array)) throw new ValidationError(`record value must be bytes in topic ${topic}`);
    }
    if (records.length === 0) return [];
    // The partition is set explicitly with the same function the producer's partitioner uses, so
    // positions are exact even while the producer's metadata is older than this log's.
    const messages: (Message & { partition: number })[] = records.map((r) => ({
      key: r.key,
      value: Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength),
      headers: r.dedupKey === undefined ? { ...r.headers } : { ...r.headers, [DEDUP_HEADER]: r.dedupKey },
      partition: partitionForKey(r.key, partitions),
    }));
    const result = await guardKafka(`append to ${topic}`, () => this.producer.send({ topic, acks: -1, messages }));
    const base = new Map<number, number>();
    for (const r of result) if (r.topicName === topic && r.baseOffset !== undefined) base.set(r.partition, Number(r.baseOffset));
    const index = new Map<number, number>();
    return messages.map((m) => {
      const start = base.get(m.partition);
      if (start === undefined) {
        throw new KafkaError(`append to ${topic}: no acknowledgement for partition ${m.partition}`, {
          retriable: true,
          details: { topic, partition: m.partition },
        });
      }
      const i = index.get(m.partition) ?? 0;
      index.set(m.partition, i + 1);
      return { topic, partition: m.partition, offset: start + i };
    });
  }

  /**
   * Reads one partition from an offset: `[]` at once when `fromOffset` is at or past the high
   * watermark, else waits (bounded) until min(max, high - from) records are there.
   */
  async read(topic: string, partition: number, fromOffset: number, max: number): Promise<LogRecord[]> {
    this.checkOpen('read');
    await this.checkPartition(topic, partition);
    checkCount('fromOffset', fromOffset, 0);
    checkCount('max', max, 0);
    if (max === 0) return [];
    const high = (await this.watermarks(topic))[partition]?.high ?? 0;
    if (fromOffset >= high) return [];
    return this.readerFor(topic).read(partition, fromOffset, Math.min(max, high - fromOffset), max, high);
  }

  /** The topic's partition count (cached); ValidationError when the topic does not exist. */
  async partitions(topic: string): Promise<number> {
    this.checkOpen('partitions');
    checkName('topic', topic);
    const cached = this.topicCache.get(topic);
    if (cached !== undefined) return cached;
    const exists = (await guardKafka('list topics', () => this.admin.listTopics())).includes(topic);
    if (!exists) throw new ValidationError(`topic ${topic} does not exist`, { topic });
    const count = await this.fetchPartitionCount(topic);
    this.topicCache.set(topic, count);
    return count;
  }

  /** The high watermark: the offset the next record of that partition will get. */
  async endOffset(topic: string, partition: number): Promise<number> {
    this.checkOpen('endOffset');
    await this.checkPartition(topic, partition);
    return (await this.watermarks(topic))[partition]?.high ?? 0;
  }

  /**
   * The consumer of `topic` in group `groupPrefix + group`: one per group and topic in this log
   * (a second kafkajs member would take half the partitions), a new one after it was closed.
   */
  consumer(group: string, topic: string): KafkaLogConsumer {
    this.checkOpen('consumer');
    checkName('group', group);
    checkName('topic', topic);
    const groupId = `${this.opts.groupPrefix}${group}`;
    const key = `${groupId}\u0000${topic}`;
    let consumer = this.consumers.get(key);
    if (!consumer || consumer.isClosed) {
      consumer = new KafkaLogConsumer(this.host, groupId, topic, this.settings);
      this.consumers.set(key, consumer);
    }
    return consumer;
  }

  /** Seeks the reader of `topic` has issued (a read continuing the previous one needs none). */
  readerSeeks(topic: string): number {
    return this.readers.get(topic)?.seeks ?? 0;
  }

  /**
   * Leaves every group, then disconnects the producer and the admin client. Idempotent, never
   * throws, and bounded in time: safe from a SIGTERM handler. Uncommitted records are delivered
   * again to the group's next member.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const bound = this.settings.closeTimeoutMs;
      await Promise.allSettled([...this.consumers.values(), ...this.readers.values()].map((c) => c.close()));
      await Promise.allSettled([
        withTimeout(this.producer.disconnect(), bound, 'disconnect producer'),
        withTimeout(this.admin.disconnect(), bound, 'disconnect admin'),
      ]);
    })();
    return this.closing;
  }

  // ------------------------------------------------------------ internals

  private checkOpen(what: string): void {
    if (this.closing) throw kafkaClosed(what);
  }

  private async checkPartition(topic: string, partition: number): Promise<void> {
    const partitions = await this.partitions(topic);
    if (!Number.isInteger(partition) || partition < 0 || partition >= partitions) {
      throw new ValidationError(`topic ${topic} has no partition ${partition}`, { topic, partition });
    }
  }

  private async fetchPartitionCount(topic: string): Promise<number> {
    const { topics } = await guardKafka(`metadata of ${topic}`, () => this.admin.fetchTopicMetadata({ topics: [topic] }));
    const found = topics.find((t) => t.name === topic);
    if (!found) throw new ValidationError(`topic ${topic} does not exist`, { topic });
    return found.partitions.length;
  }

  private async watermarks(topic: string): Promise<{ low: number; high: number }[]> {
    const partitions = await this.partitions(topic);
    const offsets = await guardKafka(`offsets of ${topic}`, () => this.admin.fetchTopicOffsets(topic));
    const out = Array.from({ length: partitions }, () => ({ low: 0, high: 0 }));
    for (const o of offsets) if (o.partition < partitions) out[o.partition] = { low: Number(o.low), high: Number(o.high) };
    return out;
  }

  private async committed(groupId: string, topic: string): Promise<number[]> {
    const partitions = await this.partitions(topic);
    const result = await guardKafka(`offsets of group ${groupId}`, () => this.admin.fetchOffsets({ groupId, topics: [topic] }));
    const out = new Array<number>(partitions).fill(-1);
    for (const t of result) {
      if (t.topic !== topic) continue;
      for (const p of t.partitions) if (p.partition < partitions) out[p.partition] = Number(p.offset);
    }
    return out;
  }

  private readerFor(topic: string): KafkaTopicReader {
    let reader = this.readers.get(topic);
    if (!reader) {
      const groupId = `${this.opts.groupPrefix}engram-reader.${this.opts.clientId}.${randomUUID()}`;
      reader = new KafkaTopicReader(this.host, topic, groupId, this.settings);
      this.readers.set(topic, reader);
    }
    return reader;
  }

  private async reconnectProducer(): Promise<void> {
    const old = this.producer;
    const fresh = KafkaEventLog.newProducer(this.kafka, this.opts.idempotent, this.opts.retries);
    await guardKafka('reconnect producer', () => fresh.connect());
    this.producer = fresh;
    await old.disconnect().catch(() => undefined);
  }
}
