/**
 * Tenant isolation battery (property-based, fast-check): random and hostile tenant, user and text
 * values (quotes, `%`, `_`, unicode, SQL, Cypher and FTS fragments, very long, empty-ish) written
 * by one user never come back to another through search, memory reads, memory lists or graph
 * neighbourhoods; ids outside the allowed alphabet are refused before any read. One engine is
 * shared by every run, so the data of earlier runs is there to leak.
 */
import test from 'ava';
import fc from 'fast-check';
import type { Engine } from '../../apps/engine.js';
import { NotFoundError, ValidationError } from '../../core/errors.js';
import type { ConversationEvent } from '../../core/model.js';
import { SCOPE_ID, type Scope } from '../../core/scope.js';
import { entityNormOf } from '../../infra/graph/cypher.js';
import { removeDir, tempDir } from '../helpers/engine.js';
import { openBatteryEngine, reportBattery } from '../helpers/reliability.js';

/** Valid ids that differ by case, a LIKE wildcard, a prefix or a separator. */
const SCOPES: readonly Scope[] = [
  ['t1', 'u1'],
  ['T1', 'u1'],
  ['t1_', 'u1'],
  ['t_', 'u_'],
  ['t1', 'u1_'],
  ['t1', 'U1'],
  ['t10', 'u1'],
  ['t1', '_'],
  ['_', '_'],
  ['-', '-'],
  ['t1-u1', 'x'],
  ['a'.repeat(64), 'b'.repeat(64)],
].map(([tenantId = '', userId = '']) => ({ tenantId, userId }));

const HOSTILE_TEXT = [
  "' OR '1'='1",
  "t1' --",
  '%',
  '_',
  '%_%',
  '\\',
  '"; DROP TABLE mem_memories; --',
  "') MATCH (n) DETACH DELETE n //",
  'MATCH (n) RETURN n',
  '$tenant',
  "{tenant: 't1', user: 'u1'}",
  'NEAR(oslo lisbon)',
  '"unterminated',
  'oslo* OR lisbon*',
  't1|u1|oslo',
  'entity:oslo',
  'a\u0000b',
  '   ',
  '🎉🔥 I live in Oslo 🎉',
  'Ich wohne in der Straße Ünïcödé',
  '私は東京に住んでいます',
  '\u202eI live in Oslo',
  "tenant_id = 't1' AND user_id = 'u1'",
  '*',
  'AND OR NOT',
  '^()[]{}',
  `I live in Oslo ${'and I like long walks '.repeat(300)}`,
];

const INVALID_IDS = ["t1' OR '1'='1", 't1%', 't_%', '', ' ', 'x'.repeat(65), 't1/u1', 't1|u1', 'tü', 't1\u0000', '*', '..', 'u.1'];

const text = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_TEXT) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 60 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
  { weight: 1, arbitrary: fc.constantFrom('I live in Oslo.', 'I work at Nokia now.', 'My favourite food is ramen.') },
);
const validScope = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...SCOPES) },
  { weight: 1, arbitrary: fc.record({ tenantId: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), userId: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/) }) },
);
const invalidScope = fc.oneof(
  fc.record({ tenantId: fc.constantFrom(...INVALID_IDS), userId: fc.constantFrom(...SCOPES.map((s) => s.userId)) }),
  fc.record({ tenantId: fc.constantFrom(...SCOPES.map((s) => s.tenantId)), userId: fc.constantFrom(...INVALID_IDS) }),
  fc.record({ tenantId: fc.string().filter((s) => !SCOPE_ID.test(s)), userId: fc.constantFrom('u1') }),
);

const key = (s: Scope): string => `${s.tenantId}/${s.userId}`;
/** Event ids carry their owner, so a source reveals whose event it was ('.' is in no id). */
const ownerOf = (eventId: string): string => eventId.split('.').slice(0, 2).join('/');

let sequence = 0;
function message(scope: Scope, body: string): ConversationEvent {
  const n = sequence++;
  return {
    eventId: `${scope.tenantId}.${scope.userId}.e${n}`,
    tenantId: scope.tenantId,
    userId: scope.userId,
    conversationId: 'chat',
    sessionId: 's1',
    occurredAt: Date.parse('2024-03-01T10:00:00Z') + n * 60_000,
    payload: { type: 'MessagePosted', messageId: `m${n}`, role: 'user', speaker: 'Sam', text: body, attachmentCaptions: [] },
  };
}

/** A read refused for its input (e.g. an empty query) returns nothing, which is no leak. */
async function refusedAsEmpty<T>(read: Promise<T>, empty: T): Promise<T> {
  try {
    return await read;
  } catch (err) {
    if (err instanceof ValidationError) return empty;
    throw err;
  }
}

/** Reads everything `reader` can see with these inputs; returns the readable leaks it found. */
async function leaks(engine: Engine, reader: Scope, queries: readonly string[], foreignIds: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  const own = await engine.memories(reader, true);
  for (const s of own) {
    if (s.memory.tenantId !== reader.tenantId || s.memory.userId !== reader.userId) out.push(`memories: ${s.memory.id} of ${s.memory.tenantId}/${s.memory.userId}`);
  }
  const ownIds = new Set(own.map((s) => s.memory.id));
  const ownEntities = new Set(
    own.flatMap((s) => [...s.memory.entities, ...(s.memory.triple ? [s.memory.triple.subject, s.memory.triple.object] : [])].map((e) => `entity:${entityNormOf(e)}`)),
  );
  for (const q of queries) {
    const hits = await refusedAsEmpty(engine.search(reader, q, { k: 50, includeInvalid: true, includeArchived: true, recordAccess: false }), []);
    for (const h of hits) {
      if (!ownIds.has(h.id)) out.push(`search ${JSON.stringify(q.slice(0, 40))}: hit ${h.id} is not ${key(reader)}'s`);
      for (const src of h.sources) if (ownerOf(src.eventId) !== key(reader)) out.push(`search: source ${src.eventId} in ${key(reader)}'s hit`);
    }
    const hood = await refusedAsEmpty(engine.neighbourhood(reader, q, 2), { nodes: [], edges: [] });
    for (const n of hood.nodes) {
      if (n.label === 'Memory' && !ownIds.has(n.id)) out.push(`neighbourhood ${JSON.stringify(q.slice(0, 40))}: memory ${n.id}`);
      if (n.label === 'Entity' && !ownEntities.has(n.id)) out.push(`neighbourhood ${JSON.stringify(q.slice(0, 40))}: entity ${n.id}`);
    }
    for (const e of hood.edges) if (e.memoryId && !ownIds.has(e.memoryId)) out.push(`neighbourhood: edge of memory ${e.memoryId}`);
  }
  for (const id of foreignIds) {
    if (ownIds.has(id)) continue;
    try {
      const detail = await engine.memory(reader, id);
      out.push(`memory ${id} was readable by ${key(reader)} (it is ${detail.state.memory.tenantId}/${detail.state.memory.userId}'s)`);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }
  return out;
}

/** fc.assert, with the failing run's own error in the message (fast-check keeps it as the cause). */
async function assertProperty<T>(property: fc.IAsyncProperty<T>, params: fc.Parameters<T>): Promise<void> {
  const details = await fc.check(property, params);
  if (!details.failed) return;
  const cause = details.errorInstance instanceof Error ? details.errorInstance.stack ?? details.errorInstance.message : String(details.errorInstance);
  throw new Error(`property failed after ${details.numRuns} runs on ${fc.stringify(details.counterexample)} (seed ${details.seed}, path ${details.counterexamplePath}):\n${cause}`);
}

let engine: Engine;
let dir: string;
test.before(async () => {
  dir = tempDir('engram-isolation-');
  engine = await openBatteryEngine(dir);
  // Every scope says the same things (so that a leak would look plausible) plus its own marker.
  await engine.publish(
    SCOPES.flatMap((s, i) => [
      message(s, 'I live in Oslo.'),
      message(s, `My favourite food is ramen, marker zq${i}x.`),
      message(s, HOSTILE_TEXT[i % HOSTILE_TEXT.length] ?? ''),
    ]),
  );
  await engine.runUntilIdle();
});
test.after.always(async () => {
  await engine?.close();
  if (dir) removeDir(dir);
});

test.serial('each seeded scope finds its own memories and only those', async (t) => {
  for (const [i, s] of SCOPES.entries()) {
    const hits = await engine.search(s, `marker zq${i}x`, { recordAccess: false });
    t.true(hits.length > 0, `${key(s)} finds its marker`);
    t.true(hits.every((h) => h.sources.every((src) => ownerOf(src.eventId) === key(s))));
    t.true((await engine.neighbourhood(s, 'Oslo', 2)).nodes.some((n) => n.label === 'Memory'), `${key(s)} sees its Oslo memory in the graph`);
    t.deepEqual(await leaks(engine, s, ['Oslo', 'ramen', 'marker', '%', '_'], []), []);
  }
});

test.serial('property: hostile writes by one user never reach another user or tenant', async (t) => {
  let runs = 0;
  let reads = 0;
  let remembered = 0;
  await assertProperty(
    fc.asyncProperty(fc.constantFrom(...SCOPES), text, validScope, text, async (writer, body, reader, query) => {
      runs++;
      const event = message(writer, body);
      await engine.publish([event]);
      await engine.runUntilIdle();
      const written = (await engine.memories(writer, true)).filter((s) => s.memory.sources.some((x) => x.eventId === event.eventId));
      if (written.length > 0) remembered++;
      const foreign = (await engine.memories(writer, true)).map((s) => s.memory.id);
      const found = await leaks(engine, reader, [query, body, 'Oslo', `marker zq${SCOPES.indexOf(writer)}x`], foreign);
      reads += 4;
      if (found.length > 0) throw new Error(`${key(writer)} wrote ${JSON.stringify(body.slice(0, 60))}; ${key(reader)} saw: ${found.slice(0, 3).join('; ')}`);
      // The writer itself sees what it wrote (unless the text carried nothing to remember).
      if (written.length > 0 && key(reader) !== key(writer)) {
        const mine = await leaks(engine, writer, [body], []);
        if (mine.length > 0) throw new Error(`the writer's own reads leak: ${mine.join('; ')}`);
      }
    }),
    { numRuns: 30, seed: 20240607, endOnFailure: true },
  );
  t.true(remembered >= runs / 3, `${remembered} of ${runs} hostile writes were remembered`);
  reportBattery(t, 'isolation', `${runs} property runs over ${SCOPES.length} seeded scopes, ${remembered} hostile writes remembered, ${reads} hostile reads: 0 cross-scope results`);
  t.pass();
});

test.serial('property: ids outside the allowed alphabet are refused by every read', async (t) => {
  await assertProperty(
    fc.asyncProperty(invalidScope, text, async (reader, query) => {
      const calls: [string, () => Promise<unknown>][] = [
        ['search', () => engine.search(reader, query)],
        ['memories', () => engine.memories(reader, true)],
        ['memory', () => engine.memory(reader, '00000000-0000-5000-8000-000000000000')],
        ['neighbourhood', () => engine.neighbourhood(reader, query || 'Oslo', 1)],
      ];
      for (const [name, call] of calls) {
        let refused = false;
        try {
          await call();
        } catch (err) {
          refused = err instanceof ValidationError;
          if (!refused) throw err;
        }
        if (!refused) throw new Error(`${name} answered for ${JSON.stringify(reader)}`);
      }
    }),
    { numRuns: 30, seed: 7 },
  );
  t.pass();
});
