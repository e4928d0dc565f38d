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
