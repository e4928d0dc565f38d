import test from 'ava';
import type { Engine } from '../../apps/engine.js';
import type { MemoryState } from '../../core/ports.js';
import type { Scope } from '../../core/scope.js';
import { TOPICS } from '../../core/model.js';
import { exampleEvents, openTestEngine, removeDir, tempDir } from '../helpers/engine.js';

const alice: Scope = { tenantId: 'acme', userId: 'alice' };
const bob: Scope = { tenantId: 'acme', userId: 'bob' };

let engine: Engine;
let dir: string;

test.before(async () => {
  dir = tempDir();
  engine = await openTestEngine(dir);
  await engine.publish(exampleEvents());
  await engine.runUntilIdle();
});

test.after.always(async () => {
  await engine?.close();
  removeDir(dir);
});

const sourceIds = (s: MemoryState): string[] => s.memory.sources.map((x) => x.messageId);
const facts = (all: MemoryState[], predicate: string, object: string): MemoryState[] =>
  all.filter((s) => s.memory.triple?.predicate === predicate && s.memory.triple.object.toLowerCase().includes(object.toLowerCase()));

test('every published message is remembered as a turn with its source message (unless redacted or erased)', async (t) => {
  const withdrawn = new Set(
    exampleEvents().flatMap((e) =>
      e.payload.type === 'MessageRedacted' ? [e.payload.messageId] : e.payload.type === 'ForgetRequested' && e.payload.targetId ? [e.payload.targetId] : [],
    ),
  );
  t.true(withdrawn.size > 0);
  const events = exampleEvents().filter((e) => e.payload.type === 'MessagePosted' && !withdrawn.has(e.payload.messageId));
  const all = [...(await engine.memories(alice, true)), ...(await engine.memories(bob, true))];
  const turnSources = new Set(all.filter((s) => s.memory.granularity === 'turn').flatMap(sourceIds));
  for (const e of events) {
    if (e.payload.type === 'MessagePosted') t.true(turnSources.has(e.payload.messageId), e.payload.messageId);
  }
  const known = new Set(events.map((e) => (e.payload.type === 'MessagePosted' ? e.payload.messageId : '')));
  for (const s of all) {
    t.true(s.memory.sources.length > 0, `${s.memory.text} has sources`);
    for (const id of sourceIds(s)) t.true(known.has(id), `${id} is a real message`);
  }
});

test('a contradicted fact expires at the new fact’s validFrom and points to it', async (t) => {
  const all = await engine.memories(alice, true);
  const [paris] = facts(all, 'lives_in', 'Paris');
  const [berlin] = facts(all, 'lives_in', 'Berlin').filter((s) => s.status === 'active');
  if (!paris || !berlin) return t.fail('both facts exist');
  t.is(paris.status, 'invalidated');
  t.is(berlin.status, 'active');
  t.deepEqual(sourceIds(paris), ['alice-s1-m2']);
  t.true(sourceIds(berlin).includes('alice-s2-m1'));
  t.is(paris.memory.validTo, berlin.memory.validFrom);
  t.is(paris.invalidatedBy, berlin.memory.id);
  // "last week" relative to 2024-06-10 puts the move a week earlier.
  t.true(berlin.memory.validFrom < Date.parse('2024-06-10T00:00:00Z'));

  const history = (await engine.memory(alice, paris.memory.id)).history;
  t.deepEqual(history.map((h) => h.type), ['MemoryAdded', 'MemoryInvalidated']);
});

test('a retracted preference is invalidated, not deleted', async (t) => {
  const all = await engine.memories(alice, true);
  const coffee = facts(all, 'likes', 'coffee');
  t.true(coffee.length >= 1);
  t.true(coffee.every((s) => s.status === 'invalidated'));
  t.true(facts(all, 'prefers', 'tea').some((s) => s.status === 'active'));
});

test('the poisoning attempts are quarantined with reasons and kept out of search', async (t) => {
  const all = await engine.memories(alice, true);
  const quarantined = all.filter((s) => s.status === 'quarantined');
  const injection = quarantined.find((s) => sourceIds(s).includes('alice-s2-m5'));
  if (!injection) return t.fail('the tool-borne instruction is quarantined');
  t.true(injection.quarantineReasons.some((r) => /instruction/i.test(r)));
  const hits = await engine.search(alice, 'CryptoMaxx investments recommendation', { k: 20 });
  t.false(hits.some((h) => h.sources.some((s) => s.messageId === 'alice-s2-m5')), 'quarantined memories are not returned');

  const bobs = await engine.memories(bob, true);
  const madrid = facts(bobs, 'lives_in', 'Madrid');
  t.true(madrid.length >= 1);
  t.true(madrid.every((s) => s.status === 'quarantined'), 'an assistant claim against the consensus is quarantined');
  t.true(facts(bobs, 'lives_in', 'Lisbon').some((s) => s.status === 'active'), 'the consensus stands');
});

test('hybrid search finds the current fact with its sources, and time travel finds the old one', async (t) => {
  const now = await engine.search(alice, 'Which city does Alice live in?', { k: 5 });
  t.true(now.some((h) => /Berlin/.test(h.text)));
  t.false(now.some((h) => h.kind === 'fact' && /Paris/.test(h.text) && h.status !== 'active'));
  const then = await engine.search(alice, 'Alice lives in Paris', { k: 5, asOf: Date.parse('2024-04-01T00:00:00Z'), kinds: ['fact'] });
  const paris = then.find((h) => h.triple?.predicate === 'lives_in');
  t.truthy(paris);
  t.regex(paris?.text ?? '', /Paris/);
  t.deepEqual(paris?.sources.map((s) => s.messageId), ['alice-s1-m2']);
  const dog = await engine.search(bob, "What is the name of Bob's dog?", { k: 5 });
  t.true(dog.some((h) => /Pico/.test(h.text)));
});

test('search never crosses tenants or users', async (t) => {
  t.deepEqual(await engine.search({ tenantId: 'other', userId: 'alice' }, 'Berlin', { k: 10 }), []);
  const bobHits = await engine.search(bob, 'Alice Berlin Paris coffee Siemens', { k: 50 });
  t.false(bobHits.some((h) => h.sources.some((s) => s.messageId.startsWith('alice'))));
});

test('clusters are recorded and the graph links entities to memories', async (t) => {
  const model = await engine.ports.store.clusterModel(alice);
  t.truthy(model);
  const active = await engine.memories(alice);
  t.true(active.some((s) => s.clusters.length > 0));
  const n = await engine.neighbourhood(alice, 'Emma', 1);
  t.true(n.nodes.some((node) => node.label === 'Memory' && /Emma/.test(node.name)));
});

test('publishing the same events again changes nothing', async (t) => {
  const before = (await engine.memories(alice, true)).map((s) => `${s.memory.id}@${s.version}`).sort();
  const endBefore = await engine.ports.log.endOffset(TOPICS.conversation, 0);
  await engine.publish(exampleEvents());
  const stats = await engine.runUntilIdle();
  t.is(stats.memoryEvents, 0);
  t.is(await engine.ports.log.endOffset(TOPICS.conversation, 0), endBefore, 'the log deduplicates by event id');
  t.deepEqual((await engine.memories(alice, true)).map((s) => `${s.memory.id}@${s.version}`).sort(), before);
});
