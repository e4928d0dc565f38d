/**
 * Regression (found by the rebuild battery): when a message, the end of its session and a request
 * to forget (or a redaction of) that message arrive in one workflow batch, the session summary
 * built at SessionEnded must not survive quoting the message, as it does not when the same events
 * come in two batches. Extraction drops a pending summary that cites a retired message.
 */
import test from 'ava';
import type { ConversationEvent, ConversationPayload } from '../../core/model.js';
import { removeDir, tempDir } from '../helpers/engine.js';
import { openBatteryEngine } from '../helpers/reliability.js';

const SECRET = 'I live in Helsinki.';
const scope = { tenantId: 'erase', userId: 'u1' };

function event(n: number, payload: ConversationPayload): ConversationEvent {
  return { ...scope, eventId: `e${n}`, conversationId: 'c1', sessionId: 's1', occurredAt: Date.parse('2024-05-01T10:00:00Z') + n * 60_000, payload };
}
const posted = (n: number, text: string): ConversationEvent =>
  event(n, { type: 'MessagePosted', messageId: `m${n}`, role: 'user', speaker: 'Ada', text, attachmentCaptions: [] });

const conversation = [posted(1, 'I love chess on weekends.'), posted(2, SECRET), posted(3, 'My favourite food is ramen.'), event(4, { type: 'SessionEnded' })];
const forget = event(5, { type: 'ForgetRequested', scope: 'message', targetId: 'm2', reason: 'user asked' });
const redact = event(5, { type: 'MessageRedacted', messageId: 'm2', reason: 'pasted by mistake' });

/** Active (or otherwise readable) memories that still cite or quote message m2. */
async function traces(batches: ConversationEvent[][]): Promise<string[]> {
  const dir = tempDir('engram-erase-');
  const engine = await openBatteryEngine(dir);
  try {
    for (const batch of batches) {
      await engine.publish(batch);
      await engine.runUntilIdle();
    }
    const states = await engine.memories(scope, true);
    return states
      .filter((s) => s.status === 'active' && (s.memory.sources.some((x) => x.messageId === 'm2') || s.memory.text.includes('Helsinki')))
      .map((s) => `${s.memory.kind} ${s.status}: ${s.memory.text}`);
  } finally {
    await engine.close();
    removeDir(dir);
  }
}

test('control: a forget request in a later batch leaves no active memory quoting the message', async (t) => {
  t.deepEqual(await traces([conversation, [forget]]), []);
});

test('a forget request in the same batch as the session end leaves no active memory quoting the message', async (t) => {
  t.deepEqual(await traces([[...conversation, forget]]), []);
});

test('a redaction in the same batch as the session end leaves no active memory quoting the message', async (t) => {
  t.deepEqual(await traces([[...conversation, redact]]), []);
});
