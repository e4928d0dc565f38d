/**
 * The Kafka EventLog over the wire, against librdkafka's mock cluster (one per file, topics
 * pre-created by the host: the mock has no CreateTopics). Runs the EventLog contract plus what
 * only Kafka has: back-pressure, positional reads without needless seeks, restarts, close.
 * Skips (with the reason logged) when gcc or librdkafka-dev are missing.
 */
import net from 'node:net';
import test from 'ava';
import kafkajs from 'kafkajs';
import { EngramError, ValidationError } from '../../core/errors.js';
import type { EventLog } from '../../core/ports.js';
import { KafkaError, kafkaRetriable, toKafkaError } from '../../infra/cluster/kafka-errors.js';
import type { KafkaEventLogOptions } from '../../infra/cluster/kafka-event-log.js';
import { KafkaEventLog, kafkaEventLogOptions } from '../../infra/cluster/kafka-event-log.js';
import { loadConfig, requireCluster } from '../../infra/config.js';
import { partitionForKey } from '../../infra/embedded/partitioner.js';
import { EVENT_LOG_CONTRACT_TOPICS, drain, eventLogContract, fetchUntil, keysByPartition } from '../contracts/event-log.contract.js';
import type { KafkaMock } from '../helpers/kafka-mock.js';
import { mockLogOptions, startKafkaMock } from '../helpers/kafka-mock.js';

const { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, KafkaJSNonRetriableError, KafkaJSProtocolError } = kafkajs;

const WIRE_TOPICS: Readonly<Record<string, number>> = {
  'w-backpressure': 2,
  'w-existing': 3,
  'w-restart': 2,
  'w-reads': 2,
  'w-closed': 1,
  'w-members': 4,
};

const started = await startKafkaMock(
  Object.entries({ ...EVENT_LOG_CONTRACT_TOPICS, ...WIRE_TOPICS }).map(([name, partitions]) => ({ name, partitions })),
);
const mock: KafkaMock | null = 'unavailable' in started ? null : started;
if (!mock) console.log(`Kafka wire tests skipped: ${'unavailable' in started ? started.unavailable : ''}`);
test.after.always(async () => {
  await mock?.stop();
});

const wire = mock ? test : test.skip;

/** The mock's options (mockLogOptions) with this file's client id and a 20 s operation timeout. */
function options(extra: Partial<KafkaEventLogOptions> = {}): KafkaEventLogOptions {
  return mockLogOptions(mock, { clientId: 'engram-wire-test', operationTimeoutMs: 20_000, ...extra });
}

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (v: Uint8Array): string => Buffer.from(v).toString('utf8');

eventLogContract(
  test,
  'kafka (mock)',
  async () => {
    let log: EventLog = await KafkaEventLog.open(options());
    return {
      log,
      topic: (name) => name,
      async reopen() {
        await log.close();
        log = await KafkaEventLog.open(options());
        return log;
      },
      close: () => log.close(),
    };
  },
  { dedupByKey: false, skip: mock === null },
);

wire('back-pressure: the topic pauses above the high-water mark, resumes after commits, loses nothing', async (t) => {
  const log = await KafkaEventLog.open(options({ highWaterMark: 4, lowWaterMark: 1 }));
  t.teardown(() => log.close());
  const T = 'w-backpressure';
  await log.ensureTopic(T, 2);
  const values = Array.from({ length: 40 }, (_, i) => `bp${i}`);
  await log.append(T, values.slice(0, 10).map((v, i) => ({ key: `k${i}`, value: bytes(v) })));
  const c = log.consumer('g-bp', T);
  t.is((await fetchUntil(c, 10)).length, 10);
  t.true(c.stats().paused, 'ten buffered records are above the mark of four');
  // While paused, nothing more is fetched, however long we wait.
  await log.append(T, values.slice(10).map((v, i) => ({ key: `k${i}`, value: bytes(v) })));
  for (let i = 0; i < 5; i++) t.is((await c.fetch(100)).length, 10);
  t.is(c.stats().buffered, 10);
  t.is(c.stats().maxBuffered, 10);
  const consumed = await drain(c, 40, 3);
  t.deepEqual([...consumed.map((r) => text(r.value))].sort(), [...values].sort(), 'every record exactly once');
  t.true(c.stats().pauses >= 1);
  t.true(c.stats().resumes >= 1);
  t.is(await c.lag(), 0);
});

wire('ensureTopic on an existing topic is a no-op; fewer partitions than it has is a ValidationError', async (t) => {
  const log = await KafkaEventLog.open(options());
  t.teardown(() => log.close());
  const T = 'w-existing';
  await log.append(T, [{ key: 'a', value: bytes('1') }, { key: 'b', value: bytes('2') }]);
  const before = await Promise.all([0, 1, 2].map((p) => log.endOffset(T, p)));
  await log.ensureTopic(T, 3);
  await log.ensureTopic(T, 3);
  t.is(await log.partitions(T), 3);
  t.deepEqual(await Promise.all([0, 1, 2].map((p) => log.endOffset(T, p))), before);
  await t.throwsAsync(log.ensureTopic(T, 2), { instanceOf: ValidationError });
});

wire('a consumer restarted after close continues from the committed offset', async (t) => {
  const T = 'w-restart';
  const log1 = await KafkaEventLog.open(options());
  await log1.ensureTopic(T, 2);
  const [k0, k1] = keysByPartition(2) as [string, string];
  await log1.append(T, [k0, k1, k0, k1, k0, k1].map((key, i) => ({ key, value: bytes(`v${i}`) })));
  const c1 = log1.consumer('g-restart', T);
  const all = await fetchUntil(c1, 6);
  await c1.commit(all.filter((r) => r.offset < 2));
  await log1.close();
  await log1.close();

  const log2 = await KafkaEventLog.open(options());
  t.teardown(() => log2.close());
  const c2 = log2.consumer('g-restart', T);
  const rest = await fetchUntil(c2, 2);
  t.deepEqual(rest.map((r) => [r.partition, r.offset]).sort(), [[0, 2], [1, 2]]);
  t.deepEqual(rest.map((r) => text(r.value)).sort(), ['v4', 'v5']);
  t.is(await c2.lag(), 2);
});

wire('reads that continue the previous one do not seek; jumping back does', async (t) => {
  const log = await KafkaEventLog.open(options());
  t.teardown(() => log.close());
  const T = 'w-reads';
  await log.ensureTopic(T, 2);
  const [k0, k1] = keysByPartition(2) as [string, string];
  await log.append(T, Array.from({ length: 10 }, (_, i) => ({ key: k0, value: bytes(`p0-${i}`) })));
  await log.append(T, Array.from({ length: 3 }, (_, i) => ({ key: k1, value: bytes(`p1-${i}`) })));
  const offsets = async (p: number, from: number, max: number): Promise<number[]> =>
    (await log.read(T, p, from, max)).map((r) => r.offset);
  t.deepEqual(await offsets(0, 0, 4), [0, 1, 2, 3]);
  const seeks = log.readerSeeks(T);
  t.deepEqual(await offsets(0, 4, 4), [4, 5, 6, 7]);
  t.deepEqual(await offsets(0, 8, 4), [8, 9]);
  t.is(log.readerSeeks(T), seeks, 'continuing reads need no seek');
  t.deepEqual(await offsets(0, 10, 4), [], 'at the end: nothing, at once');
  t.deepEqual(await offsets(0, 2, 2), [2, 3]);
  t.is(log.readerSeeks(T), seeks + 1, 'going back seeks');
  t.deepEqual(await offsets(1, 1, 10), [1, 2]);
  t.deepEqual(await offsets(0, 4, 1), [4], 'partition 0 again, from where its last read ended');
  // Appends after a read are found by the next one.
  await log.append(T, [{ key: k0, value: bytes('p0-10') }]);
  t.deepEqual((await log.read(T, 0, 10, 5)).map((r) => text(r.value)), ['p0-10']);
  t.is(partitionForKey(k0, 2), 0);
});

wire('a member joining mid-stream takes partitions over; together nothing is lost', async (t) => {
  const T = 'w-members';
  const a = await KafkaEventLog.open(options());
  const b = await KafkaEventLog.open(options());
  t.teardown(() => Promise.all([a.close(), b.close()]).then(() => undefined));
  const values = Array.from({ length: 200 }, (_, i) => `m${i}`);
  await a.append(T, values.map((v, i) => ({ key: `k${i}`, value: bytes(v) })));
  const seen: string[] = [];
  const deadline = performance.now() + 40_000;
  let refused = 0;
  let aStarted!: () => void;
  const aConsuming = new Promise<void>((resolve) => (aStarted = resolve));
  const counts = new Map<KafkaEventLog, number>();
  const member = async (log: KafkaEventLog, onFirst: () => void): Promise<void> => {
    const c = log.consumer('g-members', T);
    while (new Set(seen).size < values.length && performance.now() < deadline) {
      const batch = await c.fetch(5);
      if (batch.length > 0) onFirst();
      seen.push(...batch.map((r) => text(r.value)));
      counts.set(log, (counts.get(log) ?? 0) + batch.length);
      // Slow enough (about 4 s for everything alone) that the second member joins mid-stream.
      await new Promise((resolve) => setTimeout(resolve, 100));
      try {
        await c.commit(batch);
      } catch (err) {
        // A commit during a rebalance fails retriably; those records come again (at least once).
        t.true(err instanceof KafkaError && err.retriable, String(err));
        refused++;
      }
    }
  };
  await Promise.all([member(a, aStarted), aConsuming.then(() => member(b, () => undefined))]);
  t.deepEqual([...new Set(seen)].sort(), [...values].sort(), 'nothing lost');
  t.true((counts.get(b) ?? 0) > 0, 'the second member got partitions');
  t.log(`${seen.length - values.length} redelivered, ${refused} commits refused during rebalances`);
});

wire('close is idempotent; calls after close fail with a non-retriable KafkaError', async (t) => {
  const log = await KafkaEventLog.open(options());
  const T = 'w-closed';
  await log.append(T, [{ key: 'k', value: bytes('x') }]);
  const c = log.consumer('g-closed', T);
  t.is((await fetchUntil(c, 1)).length, 1);
  await Promise.all([log.close(), log.close()]);
  await log.close();
  const err = await t.throwsAsync(log.append(T, [{ key: 'k', value: bytes('y') }]), { instanceOf: KafkaError });
  t.false(err?.retriable);
  await t.throwsAsync(c.fetch(1), { instanceOf: KafkaError });
  await t.throwsAsync(log.read(T, 0, 0, 1), { instanceOf: KafkaError });
});

test('open fails with a retriable KafkaError when no broker listens', async (t) => {
  // A port that was just free: connecting is refused at once.
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const err = await t.throwsAsync(
    KafkaEventLog.open({ ...options(), brokers: [`127.0.0.1:${port}`], retries: 0, connectionTimeoutMs: 500 }),
    { instanceOf: KafkaError },
  );
  t.is(err?.code, 'kafka');
  t.true(err?.retriable);
});

test('kafkajs errors map to KafkaError with kafkajs retriable rule', (t) => {
  const conn = new KafkaJSConnectionError('refused');
  const mapped = toKafkaError(conn, 'append to t');
  t.true(mapped instanceof KafkaError);
  t.true((mapped as KafkaError).retriable);
  t.regex((mapped as KafkaError).message, /^append to t: refused/);
  // Retries exhausted on a retriable cause: kafkajs restarts, so the caller may retry too.
  const exhausted = new KafkaJSNumberOfRetriesExceeded(conn, { retryCount: 5, retryTime: 100 });
  t.true(kafkaRetriable(exhausted));
  const fatal = new KafkaJSNonRetriableError('bad');
  t.false((toKafkaError(fatal, 'x') as KafkaError).retriable);
  const protocol = new KafkaJSProtocolError(Object.assign(new Error('too big'), { type: 'MESSAGE_TOO_LARGE', code: 10, retriable: false }));
  const p = toKafkaError(protocol, 'append') as KafkaError;
  t.false(p.retriable);
  t.is(p.details.type, 'MESSAGE_TOO_LARGE');
  // kafkajs rejoins on a rebalance; the caller's commit can simply be repeated.
  const rebalancing = new KafkaJSProtocolError(Object.assign(new Error('rejoin'), { type: 'REBALANCE_IN_PROGRESS', code: 27, retriable: false }));
  t.true((toKafkaError(rebalancing, 'commit') as KafkaError).retriable);
  // Our own errors and programming errors pass through.
  const v = new ValidationError('no');
  t.is(toKafkaError(v, 'x'), v);
  const bug = new TypeError('oops');
  t.is(toKafkaError(bug, 'x'), bug);
  t.true(new KafkaError('m', { retriable: true }) instanceof EngramError);
});

test('open options come from the validated config', (t) => {
  const config = loadConfig({
    ENGRAM_PROFILE: 'cluster',
    ENGRAM_LOG_LEVEL: 'info',
    ENGRAM_KAFKA_BROKERS: 'kafka-1:9092, kafka-2:9092',
    ENGRAM_KAFKA_CLIENT_ID: 'engram-bridge',
    ENGRAM_KAFKA_REPLICATION: '3',
    ENGRAM_TEMPORAL_ADDRESS: 'temporal:7233',
    ENGRAM_QDRANT_URL: 'http://qdrant:6333',
    ENGRAM_NEO4J_URL: 'bolt://neo4j:7687',
  });
  const opts = kafkaEventLogOptions({ logLevel: config.logLevel, cluster: requireCluster(config) }, { groupPrefix: 'prod.' });
  t.deepEqual(opts, {
    brokers: ['kafka-1:9092', 'kafka-2:9092'],
    clientId: 'engram-bridge',
    replicationFactor: 3,
    logLevel: 'warn',
    groupPrefix: 'prod.',
  });
});
