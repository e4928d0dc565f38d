/**
 * Regression (found by the poison battery): records of `memory-events` that the projectors cannot
 * decode go to `memory-events.dlq` with the reason, as the ingest bridge's dead letters do.
 */
import test from 'ava';
import { TOPICS } from '../../core/model.js';
import { MAGIC } from '../../schemas/codec.js';
import { removeDir, tempDir } from '../helpers/engine.js';
import { openBatteryEngine } from '../helpers/reliability.js';

test('an undecodable memory event is dead-lettered with the reason it could not be decoded', async (t) => {
  const dir = tempDir('engram-mdlq-');
  t.teardown(() => removeDir(dir));
  const engine = await openBatteryEngine(dir);
  t.teardown(() => engine.close());
  await engine.ports.log.append(TOPICS.memory, [
    { key: 'acme/u1', value: Buffer.from([1, 2, 3]) },
    { key: 'acme/u1', value: Buffer.concat([MAGIC, Buffer.from('0011223344556677', 'hex'), Buffer.from([9])]) },
  ]);
  await engine.projectors.catchUp();
  const dead = [];
  for (let p = 0; p < (await engine.ports.log.partitions(TOPICS.memoryDlq)); p++) dead.push(...(await engine.ports.log.read(TOPICS.memoryDlq, p, 0, 100)));
  t.is(dead.length, 2);
  for (const r of dead) {
    t.is(r.headers['dlq-code'], 'undecodable');
    t.regex(r.headers['dlq-reason'] ?? '', /magic|fingerprint|c301/i, 'the reason says what was wrong');
  }
});
