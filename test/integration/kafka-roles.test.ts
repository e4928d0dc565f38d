/**
 * The cluster roles over Kafka's wire protocol (librdkafka's mock cluster): the ingest role
 * dead-letters bad records and hands every valid event off exactly once, even when the hand-off
 * fails; the projector role builds, from Kafka, projections identical to the embedded engine's.
 */
import test from 'ava';
import { StorageError } from '../../core/errors.js';
import type { PositionedEvent } from '../../core/model.js';
import { TOPICS } from '../../core/model.js';
import type { LogRecord } from '../../core/ports.js';
import { KafkaEventLog, type KafkaEventLogOptions } from '../../infra/cluster/kafka-event-log.js';
import path from 'node:path';
import { DATA_FILES, openEmbeddedPorts } from '../../infra/profile/embedded.js';
import { runIngest } from '../../apps/roles/ingest.js';
import { runProjectors } from '../../apps/roles/project.js';
import { ProjectorRunner } from '../../streams/projectors/projector-runner.js';
import { RecordSealer } from '../../streams/record-sealer.js';
import { SqliteKeyStore } from '../../infra/embedded/key-store.js';
import { StoreProjection } from '../../streams/projectors/store-projection.js';
import { VectorProjection } from '../../streams/projectors/vector-projection.js';
import { GraphProjection } from '../../streams/projectors/graph-projection.js';
import { exampleEvents, openTestEngine, removeDir, tempDir } from '../helpers/engine.js';
import { mockLogOptions, startKafkaMock, type KafkaMock } from '../helpers/kafka-mock.js';
import { projectionHash } from '../helpers/snapshot.js';

const PARTITIONS = 4;
const started = await startKafkaMock(Object.values(TOPICS).map((name) => ({ name, partitions: PARTITIONS })));
const mock: KafkaMock | null = 'unavailable' in started ? null : started;
if (!mock) console.log(`Kafka role tests skipped: ${'unavailable' in started ? started.unavailable : ''}`);
test.after.always(async () => {
  await mock?.stop();
});
const wire = mock ? test.serial : test.skip;

function options(): KafkaEventLogOptions {
  return mockLogOptions(mock, { clientId: 'engram-roles-test' });
}

async function dlqRecords(log: KafkaEventLog): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  for (let p = 0; p < PARTITIONS; p++) out.push(...(await log.read(TOPICS.conversationDlq, p, 0, 100)));
  return out;
}

wire('the ingest role dead-letters bad records and hands every valid event off once, through a failed hand-off', async (t) => {
  const events = exampleEvents();
  const log = await KafkaEventLog.open(options());
  try {
    await log.append(TOPICS.conversation, await new RecordSealer(null).conversationRecords(events));
    await log.append(TOPICS.conversation, [{ key: 'acme/alice', value: Uint8Array.from([0xc3, 0x01, 1, 2]) }]);

    const handedOff: string[] = [];
    let calls = 0;
    const controller = new AbortController();
    const lines: string[] = [];
    await runIngest({
      log,
      signal: controller.signal,
      print: (l) => lines.push(l),
      handOff: async (_workflowId, batch: readonly PositionedEvent[]) => {
        // The first hand-off fails as if Temporal were down: nothing may be committed or lost.
        if (calls++ === 0) throw new StorageError('temporal unavailable', { retriable: true });
        handedOff.push(...batch.map((e) => e.event.eventId));
      },
      onRound: () => {
        if (new Set(handedOff).size >= events.length) controller.abort();
      },
    });
    t.true(lines.some((l) => /temporal unavailable; retrying/.test(l)), 'the failure was logged and retried');
    t.deepEqual([...handedOff].sort(), events.map((e) => e.eventId).sort(), 'every valid event exactly once');
    const dead = await dlqRecords(log);
    t.is(dead.length, 1);
    t.is(dead[0]?.headers['dlq-code'], 'undecodable');
    t.is(await log.consumer('ingest-bridge', TOPICS.conversation).lag(), 0, 'offsets committed after the hand-off');
  } finally {
    await log.close();
  }
});

wire('the projector role builds from Kafka the same projections as the embedded engine', async (t) => {
  const live = tempDir();
  const fromKafka = tempDir();
  t.teardown(() => {
    removeDir(live);
    removeDir(fromKafka);
  });
  const engine = await openTestEngine(live, { partitions: PARTITIONS });
  await engine.publish(exampleEvents());
  await engine.runUntilIdle();
  // The memory log, copied partition by partition in offset order, so positions are identical.
  const log = await KafkaEventLog.open(options());
  let copied = 0;
  for (let p = 0; p < PARTITIONS; p++) {
    const records = await engine.ports.log.read(TOPICS.memory, p, 0, 100_000);
    const positions = await log.append(
      TOPICS.memory,
      records.map((r) => ({ key: r.key, value: r.value, headers: r.headers })),
    );
    t.deepEqual(
      positions.map((q) => [q.partition, q.offset]),
      records.map((r) => [r.partition, r.offset]),
    );
    copied += records.length;
  }
  await engine.close();
  t.true(copied > 50);

  const ports = await openEmbeddedPorts(fromKafka, { create: true });
  // The projector role opens sealed records with the users' keys (shared with the writer).
  const keys = new SqliteKeyStore(path.join(live, DATA_FILES.keys));
  try {
    const runner = new ProjectorRunner(
      log,
      [
        new StoreProjection(ports.store, ports.memoryDb.checkpoints),
        new VectorProjection(ports.vectors, ports.memoryDb.checkpoints),
        new GraphProjection(ports.graph, ports.graph),
      ],
      512,
      new RecordSealer(keys),
    );
    const controller = new AbortController();
    let applied = 0;
    await runProjectors(runner, controller.signal, () => {}, (n) => {
      applied += n;
      if (n === 0) controller.abort();
    });
    t.is(applied, copied * 3, 'each of the three projections applied every record once');
    t.is(await runner.lag(), 0);
  } finally {
    keys.close();
    await ports.close();
    await log.close();
  }
  const expected = await projectionHash(live);
  const actual = await projectionHash(fromKafka);
  for (const table of Object.keys(expected.memoryDb)) t.deepEqual(actual.memoryDb[table], expected.memoryDb[table], table);
  t.deepEqual(actual.graph, expected.graph);
  t.is(actual.hash, expected.hash);
});
