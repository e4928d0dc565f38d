/**
 * Poison battery: truncated, random, empty, schema-violating, wrongly keyed and tampered records
 * published raw between good events go to the dead-letter topic once, with a code, a reason and
 * their source position, and the events after them are processed.
 */
import test from 'ava';
import fc from 'fast-check';
import { TOPICS, type ConversationEvent } from '../../core/model.js';
import type { AppendRecord } from '../../core/ports.js';
import { seededRng } from '../../core/random.js';
import { scopeKey } from '../../core/scope.js';
import { catalogue } from '../../schemas/catalogue.js';
import { MAGIC } from '../../schemas/codec.js';
import { SEALED_MAGIC } from '../../schemas/sealed-envelope.js';
import { RecordSealer } from '../../streams/record-sealer.js';
import { removeDir, tempDir } from '../helpers/engine.js';
import {
  accountFor,
  allMemories,
  batteryEvents,
  memoryLog,
  openBatteryEngine,
  POISON_KINDS,
  poisonRecord,
  reportBattery,
  unrememberedMessages,
} from '../helpers/reliability.js';

interface Published {
  readonly record: AppendRecord;
  /** `conversation-events/<partition>/<offset>` as the DLQ names it. */
  source: string;
  /** The DLQ code it must get, or null for "any code". */
  readonly code: string | null;
  readonly label: string;
}

/** Random byte strings behind the prefixes a decoder trusts most (seeded, so the same every run). */
function fuzzRecords(like: ConversationEvent): { record: AppendRecord; label: string }[] {
  const fingerprint = catalogue().latest('MessagePosted')?.fingerprintHex ?? '';
  const prefixes: [string, Uint8Array][] = [
    ['random', new Uint8Array(0)],
    ['magic+random', MAGIC],
    ['header+random', Buffer.concat([MAGIC, Buffer.from(fingerprint, 'hex')])],
    ['sealed-magic+random', SEALED_MAGIC],
  ];
  const bodies = fc.sample(fc.uint8Array({ minLength: 0, maxLength: 200 }), { seed: 4242, numRuns: 24 });
  return bodies.map((body, i) => {
    const [label, prefix] = prefixes[i % prefixes.length] as [string, Uint8Array];
    // A fully random record must not start like a sealed or Avro record by chance.
    const value = Buffer.concat([prefix.length === 0 ? Buffer.from([0x7b]) : prefix, body]);
    return { record: { key: scopeKey(like), value, dedupKey: `fuzz/${i}` }, label: `${label} #${i}` };
  });
}

test('poison records are dead-lettered once with a reason, and the events after them are processed', async (t) => {
  const dir = tempDir('engram-poison-');
  t.teardown(() => removeDir(dir));
  const engine = await openBatteryEngine(dir);
  t.teardown(() => engine.close());
  const events = batteryEvents({ users: 3, messages: 16, seed: 11, tenantId: 'poison' });
  const rng = seededRng(99);
  const sealer = new RecordSealer(engine.ports.keys);
  const fuzz = fuzzRecords(events[0] as ConversationEvent);

  // Good events one by one, with a poison record in the same partition after every other one.
  const published: Published[] = [];
  let n = 0;
  for (const [i, e] of events.entries()) {
    await engine.publish([e]);
    if (i % 2 === 0) continue;
    const batch: Published[] = [];
    if (n < POISON_KINDS.length * 2) {
      const p = poisonRecord(POISON_KINDS[n % POISON_KINDS.length] ?? 'empty', n, rng, e);
      batch.push({ record: { key: p.key, value: p.value, dedupKey: p.dedupKey }, source: '', code: p.expectedCode, label: p.kind });
    } else if (n === POISON_KINDS.length * 2) {
      // A sealed record whose ciphertext was altered: it must not authenticate.
      const [sealed] = await sealer.conversationRecords([{ ...e, eventId: `tampered-${i}` }]);
      if (!sealed) throw new Error('no sealed record');
      const value = Buffer.from(sealed.value);
      value[value.length - 1] = (value[value.length - 1] ?? 0) ^ 0xff;
      batch.push({ record: { key: sealed.key, value, dedupKey: 'tampered' }, source: '', code: 'undecodable', label: 'tampered-seal' });
    } else {
      const f = fuzz.shift();
      if (f) batch.push({ record: f.record, source: '', code: null, label: f.label });
    }
    n++;
    const positions = await engine.publishRecords(batch.map((b) => b.record));
    batch.forEach((b, j) => (b.source = `${TOPICS.conversation}/${positions[j]?.partition}/${positions[j]?.offset}`));
    published.push(...batch);
  }
  t.true(published.length >= 20, `${published.length} poison records`);

  const stats = await engine.runUntilIdle();
  t.is(stats.deadLettered, published.length);
  const dead = await engine.deadLetters();
  t.is(dead.length, published.length, 'each poison record is dead-lettered once');
  const bySource = new Map(dead.map((r) => [r.headers['dlq-source'] ?? '', r]));
  for (const p of published) {
    const entry = bySource.get(p.source);
    if (!entry) {
      t.fail(`${p.label} at ${p.source} was not dead-lettered`);
      continue;
    }
    if (p.code !== null) t.is(entry.headers['dlq-code'], p.code, `${p.label} code`);
    else t.regex(entry.headers['dlq-code'] ?? '', /^(undecodable|invalid_input|key_mismatch)$/, `${p.label} code`);
    t.true((entry.headers['dlq-reason'] ?? '').length > 5, `${p.label} has a reason`);
    t.deepEqual(Buffer.from(entry.value), Buffer.from(p.record.value), `${p.label}: the DLQ keeps the original bytes`);
    t.is(entry.key, p.record.key);
  }

  // Every good event, including those after each poison record, was processed.
  const accounting = accountFor(dir, events);
  t.deepEqual(accounting.lost, []);
  t.deepEqual(unrememberedMessages(events, await allMemories(engine, events), await memoryLog(engine)), [], 'every message left a memory');

  // Running again changes nothing: the DLQ is not appended twice.
  // (RunStats.deadLettered is the dead-letter topic's length, not this run's count.)
  const again = await engine.runUntilIdle();
  t.is(again.deadLettered, published.length);
  t.is((await engine.deadLetters()).length, published.length);
  reportBattery(t, 'poison', {
    events: events.length + published.length,
    lost: accounting.lost.length,
    duplicated: dead.length - new Set(dead.map((r) => r.headers['dlq-source'])).size,
    extra: `${published.length} poison records dead-lettered: ${[...new Set(dead.map((r) => r.headers['dlq-code']))].sort().join(', ')}`,
  });
});

test('undecodable records on memory-events go to its dead-letter topic and the projections go on', async (t) => {
  const dir = tempDir('engram-poison-');
  t.teardown(() => removeDir(dir));
  const engine = await openBatteryEngine(dir);
  t.teardown(() => engine.close());
  const events = batteryEvents({ users: 2, messages: 12, seed: 5, tenantId: 'mpoison' });
  const half = Math.floor(events.length / 2);
  await engine.publish(events.slice(0, half));
  await engine.runUntilIdle();
  const garbage = fc.sample(fc.uint8Array({ minLength: 1, maxLength: 64 }), { seed: 7, numRuns: 6 }).map((b, i) => ({
    key: scopeKey(events[i % 2] as ConversationEvent),
    value: Buffer.concat([MAGIC, b]),
    dedupKey: `memory-garbage/${i}`,
  }));
  const positions = await engine.ports.log.append(TOPICS.memory, garbage);
  await engine.publish(events.slice(half));
  await engine.runUntilIdle();

  t.is(await engine.projectors.lag(), 0, 'the projections read past the garbage');
  const dead: { headers: Readonly<Record<string, string>> }[] = [];
  for (let p = 0; p < (await engine.ports.log.partitions(TOPICS.memoryDlq)); p++) {
    dead.push(...(await engine.ports.log.read(TOPICS.memoryDlq, p, 0, 1000)));
  }
  // Three projections read each record, yet each is dead-lettered once (by its source position).
  t.is(dead.length, garbage.length);
  t.deepEqual(
    dead.map((r) => r.headers['dlq-source']).sort(),
    positions.map((p) => `${TOPICS.memory}/${p.partition}/${p.offset}`).sort(),
  );
  t.true(dead.every((r) => r.headers['dlq-code'] === 'undecodable'));
  const unremembered = unrememberedMessages(events, await allMemories(engine, events), await memoryLog(engine, { skipUndecodable: true }));
  t.deepEqual(unremembered, [], 'the memories after the garbage are projected');
  const hits = await engine.search({ tenantId: 'mpoison', userId: 'user0' }, 'live');
  t.true(hits.length > 0, 'search works after the garbage');
});
