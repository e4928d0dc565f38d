import test from 'ava';
import { scopeOf } from '../../core/scope.js';
import { encodeMemoryEvent, decodeMemoryEvent } from '../../schemas/codec.js';
import { fillEvents, type EmbeddingPool } from '../../bench/perf/fill.js';
import { conversations, memoryTexts, questions } from '../../bench/perf/texts.js';
import { validateConversationEvent } from '../../schemas/conversation-input.js';

function pool(n: number): EmbeddingPool {
  const texts = memoryTexts(n, 1, 'Maya');
  const vectors = texts.map((_, i) => {
    const v = new Float32Array(8);
    v[i % 8] = 1;
    return v;
  });
  return { texts, vectors, modelId: 'test-model' };
}

test('fill events are valid MemoryAdded / ClusterAssigned events with deterministic ids', (t) => {
  const scope = scopeOf('perf', 'maya');
  const p = pool(20);
  const a = fillEvents(scope, p, { from: 0, count: 50, linkShare: 0.5, spread: 0.3 });
  const b = fillEvents(scope, p, { from: 0, count: 50, linkShare: 0.5, spread: 0.3 });
  t.deepEqual(a, b);
  const added = a.filter((e) => e.payload.type === 'MemoryAdded');
  t.is(added.length, 50);
  t.true(a.some((e) => e.payload.type === 'ClusterAssigned'));
  t.is(new Set(a.map((e) => e.eventId)).size, a.length);
  // The schema accepts every event (what the log and the projectors will see).
  for (const e of a) t.deepEqual(decodeMemoryEvent(encodeMemoryEvent(e)), e);
  // Memories past the pool are paraphrases: a different text and a unit vector.
  const late = added[30]?.payload;
  if (late?.type !== 'MemoryAdded') return t.fail();
  t.not(late.memory.text, p.texts[10]);
  t.true(Math.abs(Math.hypot(...late.memory.embedding) - 1) < 1e-5);
  // A later chunk continues the ids instead of rewriting the first memories.
  const next = fillEvents(scope, p, { from: 50, count: 10, linkShare: 0, spread: 0.3 });
  const ids = new Set(added.map((e) => (e.payload.type === 'MemoryAdded' ? e.payload.memory.id : '')));
  t.true(next.every((e) => e.payload.type === 'MemoryAdded' && !ids.has(e.payload.memory.id)));
});

test('generated conversations validate and are mostly distinct', (t) => {
  const events = conversations({ users: 2, messages: 60, seed: 3 });
  for (const e of events) t.notThrows(() => validateConversationEvent(e));
  const texts = events.flatMap((e) => (e.payload.type === 'MessagePosted' ? [e.payload.text] : []));
  t.is(texts.length, 120);
  t.true(new Set(texts).size > 80);
  t.true(events.some((e) => e.payload.type === 'SessionEnded'));
  t.deepEqual(conversations({ users: 2, messages: 60, seed: 3 }), events);
});

test('questions and memory texts are distinct and seeded', (t) => {
  const q = questions(200, 5, 'Maya');
  t.is(new Set(q).size, 200);
  t.deepEqual(questions(200, 5, 'Maya'), q);
  t.is(new Set(memoryTexts(500, 2, 'Maya')).size, 500);
});
