/**
 * Duplicates and redelivery battery: the same events published twice, re-read by the bridge after
 * an uncommitted hand-off or by a fresh consumer group, a batch re-run after its effect, and a
 * projection re-applying a fetch: each ends with exactly the projections of a single delivery
 * (compared table by table and by hash with test/helpers/snapshot.ts).
 */
import test, { type ExecutionContext } from 'ava';
import type { Engine } from '../../apps/engine.js';
import type { ConversationEvent } from '../../core/model.js';
import type { AppendRecord } from '../../core/ports.js';
import { IngestBridge } from '../../streams/ingest-bridge.js';
import { RecordSealer } from '../../streams/record-sealer.js';
import { removeDir, tempDir } from '../helpers/engine.js';
import {
  accountFor,
  allMemories,
  batteryEvents,
  duplicateMemories,
  FIXED_CLOCK,
  openBatteryEngine,
  reportBattery,
  withLifecycle,
} from '../helpers/reliability.js';
import { projectionHash } from '../helpers/snapshot.js';

type Snapshot = Awaited<ReturnType<typeof projectionHash>>;

const EVENTS = withLifecycle(batteryEvents({ users: 4, messages: 40, seed: 21, tenantId: 'redeliver' }));

/** The log records of the events, sealed under the engine's keys; without dedup keys when `raw`. */
async function recordsOf(engine: Engine, events: readonly ConversationEvent[], raw: boolean): Promise<AppendRecord[]> {
  const records = await new RecordSealer(engine.ports.keys).conversationRecords(events);
  return raw ? records.map(({ key, value, headers }) => ({ key, value, headers })) : records;
}

/** Opens a fresh engine on a fixed clock, runs `scenario` (which may reopen), closes, snapshots. */
async function scenario(t: ExecutionContext, run: (dir: string) => Promise<Engine>): Promise<Snapshot> {
  const dir = tempDir('engram-redeliver-');
  try {
    const engine = await run(dir);
    try {
      t.deepEqual(accountFor(dir, EVENTS).lost, [], 'no event was lost');
      t.deepEqual(duplicateMemories(await allMemories(engine, EVENTS)), [], 'no memory was duplicated');
    } finally {
      await engine.close();
    }
    return await projectionHash(dir);
  } finally {
    removeDir(dir);
  }
}

/** Asserts table by table (for a readable diff), then the hash. */
function sameProjections(t: ExecutionContext, actual: Snapshot, expected: Snapshot): void {
  for (const table of Object.keys(expected.memoryDb)) t.deepEqual(actual.memoryDb[table], expected.memoryDb[table], table);
  t.deepEqual(Object.keys(actual.memoryDb).sort(), Object.keys(expected.memoryDb).sort());
  t.deepEqual(actual.graph, expected.graph, 'graph');
  t.is(actual.hash, expected.hash);
}

let reference: Snapshot | undefined;
test.before('a single delivery', async (t) => {
  reference = await scenario(t, async (dir) => {
    const engine = await openBatteryEngine(dir, {}, { clock: FIXED_CLOCK });
    await engine.publishRecords(await recordsOf(engine, EVENTS, false));
    await engine.runUntilIdle();
    return engine;
  });
  if ((reference.memoryDb['mem_memories'] ?? []).length < 200) throw new Error('the reference holds too few memories');
});

const expected = (): Snapshot => {
  if (!reference) throw new Error('no reference');
  return reference;
};

test.serial('the same events published twice, and again after processing, give the memories of one delivery', async (t) => {
  const snapshot = await scenario(t, async (dir) => {
    const engine = await openBatteryEngine(dir, {}, { clock: FIXED_CLOCK });
    // An at-least-once producer: no dedup keys, so the log holds every copy.
    const records = await recordsOf(engine, EVENTS, true);
    await engine.publishRecords(records);
    await engine.publishRecords(records);
    await engine.runUntilIdle();
    await engine.publishRecords(records);
    const stats = await engine.runUntilIdle();
    t.is(stats.published, 3 * EVENTS.length, 'the log holds three copies');
    t.is(stats.processed, 3 * EVENTS.length, 'every copy was consumed');
    return engine;
  });
  sameProjections(t, snapshot, expected());
  reportBattery(t, 'duplicates', { events: 3 * EVENTS.length, lost: 0, duplicated: snapshot.hash === expected().hash ? 0 : 1, extra: 'published 3×, equal to one delivery' });
});

test.serial('records handed off but not committed are redelivered after a restart, without effect', async (t) => {
  let signals = 0;
  const snapshot = await scenario(t, async (dir) => {
    let engine = await openBatteryEngine(dir, {}, { clock: FIXED_CLOCK });
    await engine.publishRecords(await recordsOf(engine, EVENTS, false));
    const { runner } = engine.ports;
    const signal = runner.signal.bind(runner);
    // The process "dies" after the second durable hand-off and before the bridge commits.
    runner.signal = (workflowId, inputs) => {
      const added = signal(workflowId, inputs);
      if (++signals === 2) throw new Error('crash after hand-off');
      return added;
    };
    await t.throwsAsync(engine.runUntilIdle(), { message: 'crash after hand-off' });
    t.true(runner.pendingInputs() > 0, 'inputs were handed off');
    t.true((await engine.bridge.lag()) > 0, 'but their offsets were not committed');
    await engine.close();
    engine = await openBatteryEngine(dir, {}, { clock: FIXED_CLOCK });
    await engine.runUntilIdle();
    return engine;
  });
  t.is(signals, 2);
  sameProjections(t, snapshot, expected());
});

test.serial('a fresh consumer group re-reading the whole topic changes nothing', async (t) => {
  const snapshot = await scenario(t, async (dir) => {
    const engine = await openBatteryEngine(dir, {}, { clock: FIXED_CLOCK });
    await engine.publishRecords(await recordsOf(engine, EVENTS, false));
    await engine.runUntilIdle();
    let added = 0;
    const reread = new IngestBridge(
      engine.ports.log,
      async (workflowId, events) => {
        added += engine.ports.runner.signal(workflowId, events.map((e) => ({ id: e.event.eventId, payload: e })));
      },
      'reread-from-zero',
      new RecordSealer(engine.ports.keys),
    );
    let read = 0;
    for (let r = await reread.pollOnce(1024); r.read > 0; r = await reread.pollOnce(1024)) read += r.read;
    t.is(read, EVENTS.length, 'the whole topic was redelivered');
    t.is(added, 0, 'the workflows already had every event');
    await engine.runUntilIdle();
    return engine;
  });
  sameProjections(t, snapshot, expected());
});

test.serial('a batch re-run after its memory events were appended but before its journal entry adds nothing', async (t) => {
  let failures = 0;
  const snapshot = await scenario(t, async (dir) => {
    let engine = await openBatteryEngine(dir, {}, { clock: FIXED_CLOCK });
    await engine.publishRecords(await recordsOf(engine, EVENTS, false));
    // The activities object is a record of async functions that the runner looks up per batch.
    const activities = engine.activities as unknown as Record<string, (input: unknown) => Promise<unknown>>;
    const commit = activities['commit'];
    if (!commit) throw new Error('no commit activity');
    let commits = 0;
    activities['commit'] = async (input: unknown) => {
      const result = await commit(input);
      // The third commit's effect is durable; the runner never hears of it.
      if (++commits === 3) {
        failures++;
        throw new Error('crash after commit');
      }
      return result;
    };
    await t.throwsAsync(engine.runUntilIdle(), { message: 'crash after commit' });
    await engine.close();
    engine = await openBatteryEngine(dir, {}, { clock: FIXED_CLOCK });
    await engine.runUntilIdle();
    return engine;
  });
  t.is(failures, 1);
  sameProjections(t, snapshot, expected());
});

test.serial('a projection that re-applies a fetch whose checkpoint was not saved ends the same', async (t) => {
  const snapshot = await scenario(t, async (dir) => {
    let engine = await openBatteryEngine(dir, {}, { clock: FIXED_CLOCK });
    await engine.publishRecords(await recordsOf(engine, EVENTS, false));
    // The graph projection writes its effect, then its checkpoint (the store and the vectors
    // commit both in one transaction): the second fetch's effect lands and its checkpoint does not.
    const graph = engine.projectors.projections.find((p) => p.name === 'memory-graph');
    if (!graph) throw new Error('no graph projection');
    const apply = graph.apply.bind(graph);
    let applied = 0;
    graph.apply = async (events) => {
      await apply(events);
      if (events.length > 0 && ++applied === 2) throw new Error('crash after memory-graph applied');
    };
    await t.throwsAsync(engine.runUntilIdle(), { message: /^crash after/ });
    await engine.close();
    engine = await openBatteryEngine(dir, {}, { clock: FIXED_CLOCK });
    await engine.runUntilIdle();
    return engine;
  });
  sameProjections(t, snapshot, expected());
});
