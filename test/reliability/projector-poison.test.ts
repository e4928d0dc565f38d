/**
 * Regression (found by the schema-evolution battery): a memory event that decodes but that a
 * projection refuses with a non-retriable error (here: a committed fixture whose embedding has 6
 * dimensions, against a 512-d index) is dead-lettered with the projection's reason, and the read
 * side goes on; before, the fetch was retried forever and no later memory reached the read side.
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { TOPICS } from '../../core/model.js';
import { FIXTURE_ROOT } from '../../schemas/fixtures/generate.js';
import { removeDir, tempDir } from '../helpers/engine.js';
import { batteryEvents, openBatteryEngine } from '../helpers/reliability.js';

test('a memory event a projection refuses is dead-lettered with a reason and the read side goes on', async (t) => {
  const dir = tempDir('engram-ppoison-');
  t.teardown(() => removeDir(dir));
  const engine = await openBatteryEngine(dir);
  t.teardown(() => engine.close());
  const events = batteryEvents({ users: 2, messages: 10, seed: 9, tenantId: 'ppoison' });
  const half = Math.floor(events.length / 2);
  await engine.publish(events.slice(0, half));
  await engine.runUntilIdle();

  // A well-formed MemoryAdded (tenant acme, user caroline) whose 6-d embedding no 512-d index takes.
  const bytes = fs.readFileSync(path.join(FIXTURE_ROOT, 'memory', 'MemoryAdded.v1.bin'));
  const [bad] = await engine.ports.log.append(TOPICS.memory, [{ key: 'acme/caroline', value: bytes }]);
  await engine.publish(events.slice(half));

  await t.notThrowsAsync(engine.runUntilIdle(), 'one refused record does not stop the pipeline');
  t.is(await engine.projectors.lag(), 0, 'every projection read past it');
  const dead = [];
  for (let p = 0; p < (await engine.ports.log.partitions(TOPICS.memoryDlq)); p++) dead.push(...(await engine.ports.log.read(TOPICS.memoryDlq, p, 0, 100)));
  t.deepEqual(
    dead.map((r) => r.headers['dlq-source']),
    [`${TOPICS.memory}/${bad?.partition}/${bad?.offset}`],
    'the refused record is dead-lettered once',
  );
  t.regex(dead[0]?.headers['dlq-reason'] ?? '', /dimension/);
  const hits = await engine.search({ tenantId: 'ppoison', userId: 'user1' }, 'live');
  t.true(hits.length > 0, 'later memories are searchable');
});
