import test from 'ava';
import { exampleEvents, openTestEngine, removeDir, tempDir } from '../helpers/engine.js';
import { projectionHash } from '../helpers/snapshot.js';

test('replay rebuilds projections equal to the live ones, with no model calls', async (t) => {
  const dir = tempDir();
  t.teardown(() => removeDir(dir));
  let engine = await openTestEngine(dir);
  await engine.publish(exampleEvents());
  const stats = await engine.runUntilIdle();
  t.true(stats.memoryEvents > 50);
  await engine.close();
  const live = await projectionHash(dir);
  t.true(live.graph.length > 50, 'the graph holds the memories');
  t.true((live.memoryDb['mem_memories'] ?? []).length > 40, 'the store holds the memories');

  engine = await openTestEngine(dir);
  const result = await engine.replay();
  t.is(result.modelCalls, 0, 'a rebuild calls no model');
  t.is(engine.ports.model.calls, 0, 'the embedder was not even loaded');
  t.true(result.events >= stats.memoryEvents);
  await engine.close();

  const rebuilt = await projectionHash(dir);
  for (const table of Object.keys(live.memoryDb)) t.deepEqual(rebuilt.memoryDb[table], live.memoryDb[table], table);
  t.deepEqual(rebuilt.graph, live.graph);
  t.is(rebuilt.hash, live.hash);
});

test('a replay stops the model worker (it calls no model) and a later search starts it again', async (t) => {
  const dir = tempDir();
  t.teardown(() => removeDir(dir));
  const engine = await openTestEngine(dir);
  t.teardown(() => engine.close());
  const events = exampleEvents();
  await engine.publish(events.slice(0, 20));
  await engine.runUntilIdle();
  t.true(engine.ports.model.running, 'ingest started the worker');
  const result = await engine.replay();
  t.is(result.modelCalls, 0);
  t.false(engine.ports.model.running, 'the worker is gone during and after the replay');
  const first = events[0] as (typeof events)[number];
  const hits = await engine.search({ tenantId: first.tenantId, userId: first.userId }, 'an unseen question about plans', { k: 3, recordAccess: false });
  t.true(hits.length > 0);
  t.true(engine.ports.model.running, 'a search embedding a new query starts it again');
});
