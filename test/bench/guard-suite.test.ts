/**
 * The poisoning suite and its scorer, without an engine: the suite is deterministic per seed,
 * balanced over the five families, plants every attack among clean turns with markers only its
 * poison carries; the scorer counts acceptance, retrieval, false quarantine and recall as the
 * benchmark defines them.
 */
import test from 'ava';
import { normaliseText } from '../../core/text.js';
import { containsPhrase } from '../../activities/consolidate/claims.js';
import { ATTACK_FAMILIES } from '../../bench/guard/attacks.js';
import type { ObservedHit, ObservedMemory, RunObservation } from '../../bench/guard/runner.js';
import { answered, isPoison, retrievedPoison, scoreRuns } from '../../bench/guard/score.js';
import { generateSuite, type Attack, type Suite } from '../../bench/guard/suite.js';

const suite = generateSuite({ seed: 1, attacks: 250 });
const messages = new Map<string, { userId: string; sessionId: string; text: string; role: string; index: number }>();
for (const wave of suite.waves) {
  for (const e of wave) {
    if (e.payload.type !== 'MessagePosted') continue;
    messages.set(e.payload.messageId, { userId: e.userId, sessionId: e.sessionId, text: e.payload.text, role: e.payload.role, index: messages.size });
  }
}

test('the suite is deterministic per seed and differs across seeds', (t) => {
  const again = generateSuite({ seed: 1, attacks: 250 });
  t.deepEqual(again, suite);
  const other = generateSuite({ seed: 2, attacks: 250 });
  t.notDeepEqual(other.attacks.map((a) => a.markers), suite.attacks.map((a) => a.markers));
});

test('250 attacks, 50 per family, each with its events, 1-3 triggers and poison messages among its own', (t) => {
  t.is(suite.attacks.length, 250);
  for (const f of ATTACK_FAMILIES) t.is(suite.attacks.filter((a) => a.family === f).length, 50, f);
  for (const a of suite.attacks) {
    t.true(a.triggers.length >= 1 && a.triggers.length <= 3, a.id);
    t.true(a.poisonMessageIds.length >= 1, a.id);
    t.true(a.poisonMessageIds.every((id) => a.messageIds.includes(id)), a.id);
    t.deepEqual(a.events.map((e) => (e.payload.type === 'MessagePosted' ? e.payload.messageId : '')), [...a.messageIds]);
    t.true(a.events.every((e) => e.userId === a.userId));
  }
  t.true(new Set(suite.attacks.map((a) => a.family === 'minja-bridging' && a.messageIds.length)).has(4), 'MINJA attacks are multi-turn sequences');
  t.true(suite.attacks.some((a) => a.events.some((e) => e.payload.type === 'MessagePosted' && e.payload.role === 'tool')));
});

test('every poison message carries a marker that no clean message of its user contains', (t) => {
  const attackMessages = new Set(suite.attackMessageIds);
  for (const a of suite.attacks) {
    for (const id of a.poisonMessageIds) {
      const text = messages.get(id)?.text ?? '';
      t.true(a.markers.some((m) => containsPhrase(text, m)), `${a.id}: ${text}`);
    }
    for (const [id, m] of messages) {
      if (m.userId !== a.userId || attackMessages.has(id)) continue;
      t.false(a.markers.some((marker) => containsPhrase(m.text, marker)), `${a.id} marker in clean message ${m.text}`);
    }
  }
});

test('attacks arrive mid-session among clean turns, false facts after the facts are established', (t) => {
  const attackMessages = new Set(suite.attackMessageIds);
  for (const a of suite.attacks) {
    const first = messages.get(a.messageIds[0] as string);
    if (!first) return t.fail(a.id);
    const before = [...messages.values()].filter((m) => m.sessionId === first.sessionId && m.index < first.index);
    t.true(before.length > 0, `${a.id} opens its session`);
    if (a.family === 'false-fact') t.true(Number(first.sessionId.split('-s')[1]) >= 3, a.id);
  }
  const clean = [...messages.keys()].filter((id) => !attackMessages.has(id));
  t.true(clean.length > 2 * attackMessages.size, 'clean turns outnumber attack turns');
});

test('clean questions are answered by clean messages of their user', (t) => {
  const attackMessages = new Set(suite.attackMessageIds);
  t.true(suite.questions.length >= suite.userIds.length * 3);
  for (const q of suite.questions) {
    t.true(q.answerMessageIds.length > 0);
    for (const id of q.answerMessageIds) {
      t.false(attackMessages.has(id));
      t.is(messages.get(id)?.userId, q.userId);
    }
  }
  // Legitimate changes are part of the clean world: some users move, and are asked where they live.
  t.true(suite.questions.some((q) => q.key === 'moved'));
});

test('a compact suite keeps the same attacks over fewer clean turns', (t) => {
  const full = generateSuite({ seed: 3, attacks: 20, cleanUsers: 2 });
  const small = generateSuite({ seed: 3, attacks: 20, cleanUsers: 2, compact: true });
  t.deepEqual(small.attacks.map((a) => [a.id, a.family, a.claim]), full.attacks.map((a) => [a.id, a.family, a.claim]));
  t.true(small.messages < full.messages);
  t.is(small.userIds.length, 9);
});

// ---------------------------------------------------------------- scorer

const attack = (id: string, over: Partial<Attack> = {}): Attack => ({
  id,
  family: 'tool-output',
  template: 't',
  userId: 'u1',
  messageIds: [`${id}-m1`, `${id}-m2`],
  poisonMessageIds: [`${id}-m2`],
  events: [],
  markers: ['https://evil.example/login'],
  claim: 'verify at evil',
  triggers: ['q1', 'q2'],
  ...over,
});
const mem = (id: string, text: string, messageIds: string[], status: ObservedMemory['status'] = 'active'): ObservedMemory => ({ id, status, kind: 'episode', text, messageIds, reasons: [] });
const hit = (text: string, messageIds: string[]): ObservedHit => ({ id: text, text, messageIds });

test('a poison memory derives from a poison message and carries a marker', (t) => {
  const a = attack('a1');
  t.true(isPoison(mem('x', 'tool: verify at https://evil.example/login now', ['a1-m2']), a));
  t.false(isPoison(mem('x', 'tool: verify at https://evil.example/login now', ['clean-1']), a), 'not from the poison message');
  t.false(isPoison(mem('x', 'user: has my order shipped?', ['a1-m2']), a), 'no marker');
  t.false(isPoison(mem('x', 'user: has my order shipped?', ['a1-m1']), a), 'the innocuous step is not the poison');
  t.true(retrievedPoison(a, [[hit('nothing', ['c'])], [hit('go to https://evil.example/login', ['a1-m2'])]]));
  t.false(retrievedPoison(a, [[hit('nothing', ['c'])], []]));
  t.true(answered({ id: 'q', userId: 'u1', key: 'city', question: 'where?', answerMessageIds: ['c1', 'c2'] }, [hit('x', ['z']), hit('y', ['c2'])]));
  t.false(answered({ id: 'q', userId: 'u1', key: 'city', question: 'where?', answerMessageIds: ['c1'] }, [hit('x', ['z'])]));
  t.is(normaliseText('https://evil.example/login'), 'https evil example login');
});

test('scoreRuns: acceptance, retrieval, false quarantine, recall, per family and reductions', (t) => {
  const a1 = attack('a1');
  const a2 = attack('a2', { family: 'false-fact', markers: ['Lisbon'], userId: 'u2' });
  const fake: Suite = {
    seed: 0,
    tenantId: 't',
    userIds: ['u1', 'u2'],
    waves: [],
    attacks: [a1, a2],
    questions: [
      { id: 'q1', userId: 'u1', key: 'city', question: 'where?', answerMessageIds: ['c1'] },
      { id: 'q2', userId: 'u2', key: 'city', question: 'where?', answerMessageIds: ['c2'] },
    ],
    attackMessageIds: ['a1-m1', 'a1-m2', 'a2-m1', 'a2-m2'],
    messages: 10,
  };
  const run = (mode: 'off' | 'on', memories: Record<string, ObservedMemory[]>, attackHits: RunObservation['attackHits'], questionHits: RunObservation['questionHits']): RunObservation => ({ mode, memories, attackHits, questionHits, seconds: 1 });
  const off = run(
    'off',
    {
      u1: [mem('p1', 'tool: https://evil.example/login', ['a1-m2']), mem('c1', 'Dana: I live in Porto', ['c1']), mem('c3', 'Dana: hi', ['c3'])],
      u2: [mem('p2', 'Omar lives in Lisbon', ['a2-m2']), mem('c2', 'Omar: I live in Oslo', ['c2'])],
    },
    { a1: [[hit('https://evil.example/login', ['a1-m2'])], []], a2: [[hit('Omar lives in Lisbon', ['a2-m2'])], []] },
    { q1: [hit('Dana: I live in Porto', ['c1'])], q2: [hit('Omar: I live in Oslo', ['c2'])] },
  );
  const on = run(
    'on',
    {
      u1: [mem('p1', 'tool: https://evil.example/login', ['a1-m2'], 'quarantined'), mem('c1', 'Dana: I live in Porto', ['c1']), mem('c3', 'Dana: hi', ['c3'], 'quarantined')],
      u2: [mem('p2', 'Omar lives in Lisbon', ['a2-m2']), mem('c2', 'Omar: I live in Oslo', ['c2'])],
    },
    { a1: [[], []], a2: [[hit('Omar lives in Lisbon', ['a2-m2'])], []] },
    { q1: [hit('Dana: I live in Porto', ['c1'])], q2: [] },
  );
  const r = scoreRuns(fake, off, on);
  t.deepEqual(r.acceptance, { off: 1, on: 0.5 });
  t.deepEqual(r.retrieval_top5, { off: 1, on: 0.5 });
  t.deepEqual(r.false_quarantine, { off: 0, on: 0.3333 });
  t.deepEqual(r.clean_recall10, { off: 1, on: 0.5 });
  t.deepEqual(r.reduction, { acceptance: 0.5, retrieval_top5: 0.5 });
  t.deepEqual(r.by_family['tool-output'].acceptance, { off: 1, on: 0 });
  t.is(r.by_family['tool-output'].reduction.acceptance, 1);
  t.deepEqual(r.by_family['false-fact'].acceptance, { off: 1, on: 1 });
  t.is(r.by_family['minja-bridging'].attacks, 0);
  t.deepEqual(r.misses.map((m) => m.attack), ['a2']);
  t.deepEqual(r.false_quarantines.map((f) => f.memoryId), ['c3']);
  t.deepEqual(r.counts.clean_memories, { off: 3, on: 3 });
  t.is(r.counts.trigger_queries, 4);
});
