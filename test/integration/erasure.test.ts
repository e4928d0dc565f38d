/**
 * Erasure end to end: forgetting a message, then a whole user, leaves no trace of their words in
 * any file of the data directory (logs, projections, runner, caches, keys), makes their log
 * records unreadable, and survives a rebuild of the projections from the log.
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import type { ConversationEvent } from '../../core/model.js';
import { TOPICS } from '../../core/model.js';
import { scopeOf } from '../../core/scope.js';
import { RecordSealer } from '../../streams/record-sealer.js';
import { openTestEngine, removeDir, tempDir } from '../helpers/engine.js';

const T0 = Date.parse('2024-05-01T09:00:00Z');
const alice = scopeOf('acme', 'alice');
const bob = scopeOf('acme', 'bob');

function posted(userId: string, n: number, text: string, session = 's1'): ConversationEvent {
  return {
    eventId: `${userId}-e${n}`,
    tenantId: 'acme',
    userId,
    conversationId: `${userId}-chat`,
    sessionId: `${userId}-${session}`,
    occurredAt: T0 + n * 60_000,
    payload: { type: 'MessagePosted', messageId: `${userId}-m${n}`, role: 'user', speaker: userId === 'alice' ? 'Alice' : 'Bob', text, attachmentCaptions: [] },
  };
}

function forget(userId: string, n: number, scope: 'message' | 'user', targetId: string | null): ConversationEvent {
  return {
    eventId: `${userId}-forget-${n}`,
    tenantId: 'acme',
    userId,
    conversationId: `${userId}-chat`,
    sessionId: `${userId}-s1`,
    occurredAt: T0 + n * 60_000,
    payload: { type: 'ForgetRequested', scope, targetId, reason: 'privacy request' },
  };
}

/** Every file under `dir`, recursively. */
function filesOf(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    return d.isDirectory() ? filesOf(p) : [p];
  });
}

/** The files (and the needles) in which any of the needles occurs, in UTF-8 or lower case. */
function tracesOf(dir: string, needles: readonly string[]): string[] {
  const hits: string[] = [];
  for (const file of filesOf(dir)) {
    const bytes = fs.readFileSync(file);
    const lower = Buffer.from(bytes.toString('latin1').toLowerCase(), 'latin1');
    for (const n of needles) if (bytes.includes(n) || lower.includes(n.toLowerCase())) hits.push(`${path.relative(dir, file)}: ${n}`);
  }
  return hits;
}

test('forgetting a message and then a user leaves no trace of their words anywhere, even after a rebuild', async (t) => {
  const dir = tempDir('engram-erasure-');
  try {
    let engine = await openTestEngine(dir);
    await engine.publish([
      posted('alice', 1, 'I live in Lisbon and I work at a bakery.'),
      posted('alice', 2, 'My locker code at the Zurichberg gym is zebra-4417.'),
      posted('alice', 3, 'I love playing the cello on Sundays.'),
      posted('bob', 1, 'My passport number is QX991288 and I collect Quokkaphone records.'),
      posted('bob', 2, 'I work at the Vandermolen observatory as a night technician.'),
    ]);
    await engine.runUntilIdle();
    const aliceBefore = (await engine.memories(alice)).length;
    t.true((await engine.search(alice, 'locker code gym', { k: 5 })).some((h) => h.text.includes('zebra-4417')));
    t.true((await engine.memories(bob)).length > 0);
    // A clean run holds the words (plaintext in the projections): the scan can see them.
    await engine.close();
    t.true(tracesOf(dir, ['zebra-4417']).length > 0, 'the scan finds live text');
    engine = await openTestEngine(dir);

    await engine.publish([forget('alice', 4, 'message', 'alice-m2'), forget('bob', 3, 'user', null)]);
    await engine.runUntilIdle();

    // The read side no longer has them; Alice's other memories remain.
    t.false((await engine.search(alice, 'locker code gym zebra', { k: 10 })).some((h) => h.text.includes('zebra')));
    t.deepEqual(await engine.memories(bob), []);
    const aliceAfter = await engine.memories(alice);
    t.true(aliceAfter.length > 0 && aliceAfter.length < aliceBefore);
    t.true(aliceAfter.some((s) => s.memory.text.includes('cello')));

    // The erased messages' log records can no longer be opened; Alice's other messages can.
    const opener = new RecordSealer(engine.ports.keys);
    const opened = new Map<string, boolean>();
    for (let p = 0; p < (await engine.ports.log.partitions(TOPICS.conversation)); p++) {
      for (const r of await engine.ports.log.read(TOPICS.conversation, p, 0, 10_000)) {
        opened.set(r.headers['event-id'] ?? '', (await opener.open(r)).erased);
      }
    }
    t.is(opened.get('alice-e2'), true);
    t.is(opened.get('bob-e1'), true);
    t.is(opened.get('bob-e2'), true);
    t.is(opened.get('alice-e1'), false);
    t.is(opened.get('alice-e3'), false);

    // A rebuild from the log brings nothing back.
    const replay = await engine.replay();
    t.is(replay.modelCalls, 0);
    t.deepEqual(await engine.memories(bob), []);
    t.deepEqual(
      (await engine.memories(alice)).map((s) => s.memory.id).sort(),
      aliceAfter.map((s) => s.memory.id).sort(),
    );
    await engine.close();

    // No file of the data directory holds the erased words.
    t.deepEqual(tracesOf(dir, ['zebra-4417', 'Zurichberg', 'QX991288', 'Quokkaphone', 'Vandermolen']), []);
    t.true(tracesOf(dir, ['cello']).length > 0, 'what was not erased is still there');
  } finally {
    removeDir(dir);
  }
});
