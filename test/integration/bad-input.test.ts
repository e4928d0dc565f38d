import test from 'ava';
import { DataDirError, ValidationError } from '../../core/errors.js';
import { TOPICS } from '../../core/model.js';
import { encodeConversationEvent } from '../../schemas/codec.js';
import { openTestEngine, removeDir, tempDir } from '../helpers/engine.js';
import { Engine } from '../../apps/engine.js';
import { loadConfig } from '../../infra/config.js';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const event = (n: number, text: string) => ({
  eventId: `e${n}`,
  tenantId: 't1',
  userId: 'u1',
  conversationId: 'c1',
  sessionId: 's1',
  occurredAt: Date.parse('2024-01-01T10:00:00Z') + n * 1000,
  payload: { type: 'MessagePosted' as const, messageId: `m${n}`, role: 'user' as const, speaker: 'Dana', text, attachmentCaptions: [] },
});

test('undecodable and invalid records are dead-lettered with a reason and the stream goes on', async (t) => {
  const dir = tempDir();
  t.teardown(() => removeDir(dir));
  const engine = await openTestEngine(dir);
  t.teardown(() => engine.close());
  const good = encodeConversationEvent(event(1, 'I live in Oslo.'));
  const truncated = good.subarray(0, good.length - 5);
  const wrongKey = encodeConversationEvent(event(3, 'I work at Equinor.'));
  await engine.publishRecords([
    { key: 't1/u1', value: new Uint8Array([1, 2, 3, 4]) },
    { key: 't1/u1', value: truncated },
    { key: 't1/other', value: wrongKey },
    { key: 't1/u1', value: good },
    { key: 't1/u1', value: encodeConversationEvent(event(2, 'My favourite food is ramen.')) },
  ]);
  const stats = await engine.runUntilIdle();
  t.is(stats.deadLettered, 3);
  const dead = await engine.deadLetters();
  t.deepEqual(dead.map((r) => r.headers['dlq-code']).sort(), ['key_mismatch', 'undecodable', 'undecodable']);
  t.true(dead.every((r) => (r.headers['dlq-reason'] ?? '').length > 0));
  t.true(dead.every((r) => r.headers['dlq-source']?.startsWith(`${TOPICS.conversation}/`)));
  const memories = await engine.memories({ tenantId: 't1', userId: 'u1' });
  t.true(memories.some((s) => /Oslo/.test(s.memory.text)), 'events after the bad ones are processed');
  t.true(memories.some((s) => /ramen/.test(s.memory.text)));
});

test('invalid tenant and user ids are refused with a clear message', async (t) => {
  const dir = tempDir();
  t.teardown(() => removeDir(dir));
  const engine = await openTestEngine(dir);
  t.teardown(() => engine.close());
  for (const bad of ['', 'a/b', "x' OR 1=1", 'é', 'x'.repeat(65)]) {
    const err = await t.throwsAsync(engine.search({ tenantId: bad, userId: 'u1' }, 'hello'), { instanceOf: ValidationError });
    t.regex(err?.message ?? '', /invalid tenant id/);
  }
  await t.throwsAsync(engine.search({ tenantId: 't1', userId: '../etc' }, 'hello'), { instanceOf: ValidationError, message: /invalid user id/ });
});

test('a missing or corrupt data directory gives a clear error', async (t) => {
  const dir = tempDir();
  t.teardown(() => removeDir(dir));
  const missing = join(dir, 'nope');
  await t.throwsAsync(Engine.open(loadConfig({}, { dataDir: missing }), { create: false }), {
    instanceOf: DataDirError,
    message: /no Engram data directory/,
  });
  const corrupt = join(dir, 'corrupt');
  mkdirSync(corrupt);
  writeFileSync(join(corrupt, 'log.db'), 'this is not a database, just text that is long enough to look like a header');
  await t.throwsAsync(Engine.open(loadConfig({}, { dataDir: corrupt }), { create: false }), {
    instanceOf: DataDirError,
    message: /corrupt|not an Engram database/,
  });
});
