/**
 * The Kafka EventLog against a real broker (`KAFKA_BROKERS`, comma-separated, e.g. localhost:9092
 * from compose.yaml): the EventLog contract, with topics created by `ensureTopic` (CreateTopics)
 * and grown by it (CreatePartitions), which the mock cluster cannot do. Topic and group names are
 * unique per run; the topics are deleted at the end. Skips cleanly without KAFKA_BROKERS.
 */
import { randomUUID } from 'node:crypto';
import test from 'ava';
import kafkajs from 'kafkajs';
import type { EventLog } from '../../core/ports.js';
import type { KafkaEventLogOptions } from '../../infra/cluster/kafka-event-log.js';
import { KafkaEventLog } from '../../infra/cluster/kafka-event-log.js';
import { partitionForKey } from '../../infra/embedded/partitioner.js';
import { eventLogContract } from '../contracts/event-log.contract.js';

const brokers = (process.env.KAFKA_BROKERS ?? '')
  .split(',')
  .map((b) => b.trim())
  .filter((b) => b !== '');
const available = brokers.length > 0;
const stackTest = available ? test.serial : test.serial.skip;
const RUN = randomUUID().slice(0, 8);
const PREFIX = `engram-t-${RUN}-`;
const topicOf = (name: string): string => `${PREFIX}${name}`;

function options(): KafkaEventLogOptions {
  return {
    brokers,
    clientId: 'engram-stack-test',
    replicationFactor: Number(process.env.KAFKA_REPLICATION ?? '1'),
    groupPrefix: PREFIX,
    logLevel: 'nothing',
    connectionTimeoutMs: 3000,
    requestTimeoutMs: 10_000,
    retries: 3,
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 5_000,
    heartbeatIntervalMs: 500,
    maxWaitTimeMs: 100,
    operationTimeoutMs: 30_000,
  };
}

test.after.always(async () => {
  if (!available) return;
  // Delete every topic of this run (best effort, bounded).
  const admin = new kafkajs.Kafka({ clientId: 'engram-stack-cleanup', brokers, logLevel: kafkajs.logLevel.NOTHING, retry: { retries: 1 } }).admin();
  try {
    await admin.connect();
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(PREFIX));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine, timeout: 5000 });
  } catch {
    // Leftover topics only cost disk on a test broker.
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
});

eventLogContract(
  test,
  'kafka',
  async () => {
    let log: EventLog = await KafkaEventLog.open(options());
    return {
      log,
      topic: topicOf,
      async reopen() {
        await log.close();
        log = await KafkaEventLog.open(options());
        return log;
      },
      close: () => log.close(),
    };
  },
  { dedupByKey: false, serial: true, skip: !available },
);

stackTest('ensureTopic creates a topic, then grows it; keys follow partitionForKey of the new count', async (t) => {
  const log = await KafkaEventLog.open(options());
  t.teardown(() => log.close());
  const T = topicOf('grow');
  await log.ensureTopic(T, 2);
  await log.ensureTopic(T, 2);
  t.is(await log.partitions(T), 2);
  await log.ensureTopic(T, 4);
  t.is(await log.partitions(T), 4);
  const keys = Array.from({ length: 24 }, (_, i) => `tenant/user-${i}`);
  const positions = await log.append(T, keys.map((key) => ({ key, value: Buffer.from(key) })));
  positions.forEach((pos, i) => t.is(pos.partition, partitionForKey(keys[i] as string, 4)));
  for (const pos of positions) {
    const [r] = await log.read(T, pos.partition, pos.offset, 1);
    t.is(r?.key, keys[positions.indexOf(pos)]);
  }
  // A second process sees the grown topic too.
  const other = await KafkaEventLog.open(options());
  t.teardown(() => other.close());
  t.is(await other.partitions(T), 4);
});
