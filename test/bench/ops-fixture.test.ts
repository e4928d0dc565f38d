import test from 'ava';
import { ValidationError } from '../../core/errors.js';
import type { ConversationEvent } from '../../core/model.js';
import { parseConversationEvent } from '../../schemas/conversation-input.js';
import { buildFixture, FIXTURE_DIR, HOLDOUT_FIXTURE_DIR, loadFixture, sliceFixture } from '../../bench/ops/fixture.js';

const fixture = loadFixture(FIXTURE_DIR);
const facts = fixture.messages.flatMap((m) => m.facts);
const factIds = new Set(facts.map((f) => f.id));
const messageIds = new Set(fixture.messages.map((m) => m.messageId));

test('the fixture has at least 150 messages over several users, with user and assistant turns', (t) => {
  t.true(fixture.messages.length >= 150, `${fixture.messages.length} messages`);
  t.true(fixture.users.length >= 4);
  t.true(fixture.messages.some((m) => m.role === 'assistant'));
  t.true(new Set(fixture.messages.map((m) => m.sessionId)).size >= 15);
});

test('every label references an existing message or an earlier fact of the same user', (t) => {
  const order = new Map<string, number>();
  fixture.messages.forEach((m, i) => m.facts.forEach((f) => order.set(f.id, i)));
  const userOf = new Map(facts.map((f) => [f.id, f.userId]));
  for (const f of facts) {
    t.true(messageIds.has(f.messageId));
    const refs = [...(f.target === null ? [] : [f.target]), ...f.invalidates];
    for (const ref of refs) {
      t.true(factIds.has(ref), `${f.id} → ${ref}`);
      t.is(userOf.get(ref), f.userId, `${f.id} → ${ref}`);
      t.true((order.get(ref) as number) < (order.get(f.id) as number), `${ref} comes before ${f.id}`);
    }
    t.is(f.op === 'ADD', f.target === null, f.id);
  }
  for (const r of fixture.redactions) {
    t.true(messageIds.has(r.messageId));
    for (const ref of r.restores) t.true(factIds.has(ref), ref);
  }
  t.is(factIds.size, facts.length, 'fact ids are unique');
});

test('the fixture covers every case of the issue', (t) => {
  const cases = new Set([...facts.flatMap((f) => f.cases), ...fixture.messages.flatMap((m) => m.cases)]);
  for (const c of [
    'first-person', 'relation', 'third-person', 'preference', 'dated', 'low-information', 'greeting', 'duplicate',
    'refinement', 'retraction', 'functional-conflict', 'multi-valued', 'different-subject', 'assistant', 'no-fact',
  ]) {
    t.true(cases.has(c), c);
  }
  for (const op of ['ADD', 'UPDATE', 'DELETE', 'NOOP'] as const) t.true(facts.filter((f) => f.op === op).length >= 5, op);
  const predicates = new Set(facts.filter((f) => f.invalidates.length > 0).map((f) => f.predicate));
  for (const p of ['lives_in', 'works_at', 'job_title', 'relationship_status', 'age', 'name']) t.true(predicates.has(p), p);
  t.true([...predicates].some((p) => p.startsWith('favourite_')));
  t.true(facts.some((f) => f.predicate === 'dislikes' && f.invalidates.length > 0), 'an opposite preference');
  t.true(fixture.redactions.filter((r) => r.restores.length > 0).length >= 3);
  t.true(fixture.redactions.some((r) => r.restores.length === 0), 'a redaction that restores nothing');
  t.true(facts.filter((f) => f.date !== null).length >= 20);
});

test('the events are valid conversation events, one post per message, in time order per user', (t) => {
  const events: ConversationEvent[] = fixture.waves.flat();
  for (const e of events) t.deepEqual(parseConversationEvent(JSON.parse(JSON.stringify(e))), e);
  t.is(new Set(events.map((e) => e.eventId)).size, events.length);
  const posts = events.filter((e) => e.payload.type === 'MessagePosted');
  t.is(posts.length, fixture.messages.length);
  t.is(events.filter((e) => e.payload.type === 'MessageRedacted').length, fixture.redactions.length);
  for (const user of fixture.users) {
    const times = events.filter((e) => e.userId === user).map((e) => e.occurredAt);
    t.deepEqual(times, [...times].sort((a, b) => a - b), user);
  }
  const starts = fixture.waves.map((w) => (w[0] as ConversationEvent).occurredAt);
  t.deepEqual(starts, [...starts].sort((a, b) => a - b));
});

test('dated labels are as precise as the message allows and resolve against the message time', (t) => {
  const msg = fixture.messages.find((m) => m.messageId === 'maya-s2-m1');
  t.is(msg?.text, 'Last Saturday I went to a pottery class with Priya.');
  t.is(new Date(msg?.occurredAt ?? 0).toISOString(), '2024-02-12T18:00:00.000Z');
  t.is(msg?.facts[0]?.date, '2024-02-10');
  for (const f of facts) if (f.date !== null) t.regex(f.date, /^\d{4}(?:-\d{2}(?:-\d{2})?)?$/);
});

const file = (turns: unknown[]) => ({
  name: 'x.json',
  data: { tenantId: 'ops', userId: 'u1', speaker: 'Una', sessions: [{ id: 'u1-s1', start: '2024-01-01T09:00:00Z', turns }] },
});
const fact = (over: Record<string, unknown>) => ({ id: 'f1', subject: 'Una', predicate: 'lives_in', object: 'Oslo', kind: 'fact', ...over });

test('the loader rejects dangling or forward references and malformed labels', (t) => {
  t.notThrows(() => buildFixture([file([{ id: 'm1', text: 'I live in Oslo.', facts: [fact({})] }])]));
  const bad = [
    [{ id: 'm1', text: 'x', facts: [fact({ op: 'NOOP', target: 'nope' })] }],
    [{ id: 'm1', text: 'x', facts: [fact({ op: 'NOOP' })] }],
    [{ id: 'm1', text: 'x', facts: [fact({ target: 'f0' })] }],
    [{ id: 'm1', text: 'x', facts: [fact({ invalidates: ['f2'] })] }, { id: 'm2', text: 'y', facts: [fact({ id: 'f2' })] }],
    [{ id: 'm1', text: 'x', facts: [fact({}), fact({})] }],
    [{ id: 'm1', text: 'x' }, { id: 'm1', text: 'y' }],
    [{ redact: 'm9' }],
    [{ id: 'm1', text: 'x', facts: [fact({})] }, { redact: 'm1', restores: ['f7'] }],
    [{ id: 'm1', text: 'x', facts: [fact({ date: 'last week' })] }],
    [{ id: 'm1', text: 'x', facts: [fact({ predicate: 'Lives In' })] }],
    [{ id: 'm1', text: 'x', facts: [fact({ kind: 'episode' })] }],
  ];
  for (const turns of bad) t.throws(() => buildFixture([file(turns)]), { instanceOf: ValidationError }, JSON.stringify(turns));
});

test('a slice keeps the first sessions of the chosen users and only labels inside it', (t) => {
  const slice = sliceFixture(fixture, ['maya'], 2);
  t.deepEqual(slice.users, ['maya']);
  t.deepEqual([...new Set(slice.messages.map((m) => m.sessionId))], ['maya-s1', 'maya-s2']);
  t.is(slice.waves.length, 2);
  const ids = new Set(slice.messages.flatMap((m) => m.facts.map((f) => f.id)));
  for (const f of slice.messages.flatMap((m) => m.facts)) if (f.target !== null) t.true(ids.has(f.target));
  t.deepEqual(slice.redactions, []);
});

test('the held-out fixture loads, has at least 50 messages and shares no message or fact id with the tuning one', (t) => {
  const holdout = loadFixture(HOLDOUT_FIXTURE_DIR);
  t.true(holdout.messages.length >= 50, `${holdout.messages.length} messages`);
  t.true(holdout.users.length >= 2);
  const held = holdout.messages.flatMap((m) => m.facts);
  for (const op of ['ADD', 'UPDATE', 'DELETE', 'NOOP'] as const) t.true(held.some((f) => f.op === op), op);
  t.true(holdout.redactions.some((r) => r.restores.length > 0), 'a redaction that restores a fact');
  for (const m of holdout.messages) t.false(messageIds.has(m.messageId), m.messageId);
  for (const f of held) t.false(factIds.has(f.id), f.id);
});
