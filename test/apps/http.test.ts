/**
 * The HTTP API's happy paths on a real embedded engine: every endpoint answers what its schema
 * says (responses are checked against the documented schemas: `strictResponses`).
 */
import test from 'ava';
import { ClusterService } from '../../apps/cluster-service.js';
import type { FastifyInstance } from 'fastify';
import { principalOf } from '../../apps/server/auth.js';
import { buildServer } from '../../apps/server/http.js';
import type { MemoryService } from '../../apps/service.js';
import { scopeOf } from '../../core/scope.js';
import { errorCode, INJECTION, message, openApiFixture, type ApiFixture } from './api-fixtures.js';

interface Position {
  topic: string;
  partition: number;
  offset: number;
}
interface MemoryJson {
  id: string;
  text: string;
  kind: string;
  status: string;
  [k: string]: unknown;
}

let f: ApiFixture;
let key: string;
let admin: string;
let lastOffset: number;

test.before(async () => {
  f = await openApiFixture();
  key = f.key('acme');
  admin = f.key('acme', true);
});

test.after.always(async () => {
  await f.close();
});

test.serial('publish a batch, then search with minOffset reads our own writes', async (t) => {
  const posted = await f.call(key, {
    method: 'POST',
    url: '/v1/events',
    payload: {
      events: [
        message('acme', 'dana', 1, 'I live in Lisbon and I work at Mozilla.'),
        message('acme', 'dana', 2, INJECTION, 'tool'),
        message('acme', 'dana', 3, 'I love sailing on weekends.'),
      ],
    },
  });
  t.is(posted.statusCode, 202, posted.body);
  const { accepted, positions } = posted.json<{ accepted: number; positions: Position[] }>();
  t.is(accepted, 3);
  t.true(positions.every((p) => p.topic === 'conversation-events' && p.partition === positions[0]?.partition));
  lastOffset = Math.max(...positions.map((p) => p.offset));

  const found = await f.call(key, { method: 'GET', url: `/v1/search?user=dana&q=where%20does%20dana%20live&k=5&minOffset=${lastOffset}&waitMs=10000` });
  t.is(found.statusCode, 200, found.body);
  const body = found.json<{ results: MemoryJson[]; lessons: unknown[]; flagged: unknown[]; caughtUp: boolean }>();
  t.true(body.caughtUp);
  t.true(body.results.some((r) => /Lisbon/.test(r.text)));
  t.false(body.results.some((r) => r.text.includes('deals.example')), 'the quarantined memory is not searchable');
  t.true(Array.isArray(body.lessons) && Array.isArray(body.flagged));

  // Publishing the same events again is accepted and changes nothing (idempotent by eventId).
  const again = await f.call(key, { method: 'POST', url: '/v1/events', payload: [message('acme', 'dana', 1, 'I live in Lisbon and I work at Mozilla.')] });
  t.is(again.statusCode, 202);
  await f.server.idle();
  const memories = (await f.engine.memories(scopeOf('acme', 'dana'))).filter((s) => /Lisbon/.test(s.memory.text));
  const unique = new Set(memories.map((m) => m.memory.text));
  t.is(unique.size, memories.length, 'no duplicate memories from a re-published event');
});

test.serial('search filters: kind, granularity, asOf, includeInvalid', async (t) => {
  const facts = await f.call(key, { method: 'GET', url: '/v1/search?user=dana&q=Lisbon&kind=fact&kind=preference' });
  t.is(facts.statusCode, 200, facts.body);
  t.true(facts.json<{ results: MemoryJson[] }>().results.every((r) => r.kind === 'fact' || r.kind === 'preference'));
  const turns = await f.call(key, { method: 'GET', url: '/v1/search?user=dana&q=Lisbon&granularity=turn' });
  t.true(turns.json<{ results: { granularity: string }[] }>().results.every((r) => r.granularity === 'turn'));
  // Before anything was said, nothing was true.
  const before = await f.call(key, { method: 'GET', url: '/v1/search?user=dana&q=Lisbon&asOf=2020-01-01T00:00:00Z&includeInvalid=true' });
  t.is(before.statusCode, 200, before.body);
  t.deepEqual(before.json<{ results: unknown[] }>().results, []);
});

test.serial('read-your-writes without background processing: caughtUp is false until the pipeline has run', async (t) => {
  // A server without a background loop: nothing processes until we do.
  const quiet = buildServer(f.engine, { keys: f.keys, rateLimit: false, strictResponses: true });
  try {
    const auth = { authorization: `Bearer ${key}` };
    const posted = await quiet.app.inject({ method: 'POST', url: '/v1/events', headers: auth, payload: message('acme', 'dana', 4, 'My sister Ana lives in Porto.') });
    t.is(posted.statusCode, 202);
    const offset = posted.json<{ positions: Position[] }>().positions[0]?.offset ?? -1;
    const early = await quiet.app.inject({ method: 'GET', url: `/v1/search?user=dana&q=Porto&minOffset=${offset}&waitMs=0`, headers: auth });
    t.is(early.statusCode, 200);
    t.false(early.json<{ caughtUp: boolean }>().caughtUp);
    await f.engine.runUntilIdle();
    const late = await quiet.app.inject({ method: 'GET', url: `/v1/search?user=dana&q=Porto&minOffset=${offset}&waitMs=0`, headers: auth });
    t.true(late.json<{ caughtUp: boolean }>().caughtUp);
    t.true(late.json<{ results: MemoryJson[] }>().results.some((r) => /Porto/.test(r.text)));
  } finally {
    await quiet.stop();
    await quiet.app.close();
  }
});

test.serial('users, memories, one memory with quoted sources and history, profile, entity, lessons', async (t) => {
  const users = await f.call(key, { method: 'GET', url: '/v1/users' });
  t.deepEqual(users.json<{ users: string[] }>().users, ['dana']);

  const active = (await f.call(key, { method: 'GET', url: '/v1/users/dana/memories' })).json<{ memories: MemoryJson[] }>().memories;
  t.true(active.length > 0);
  t.true(active.every((m) => m.status === 'active' && !('embedding' in m)));
  const all = (await f.call(key, { method: 'GET', url: '/v1/users/dana/memories?all=true' })).json<{ memories: MemoryJson[] }>().memories;
  t.true(all.some((m) => m.status === 'quarantined'));

  const lisbon = active.find((m) => /Lisbon/.test(m.text));
  if (!lisbon) return t.fail('no Lisbon memory');
  const detail = await f.call(key, { method: 'GET', url: `/v1/users/dana/memories/${lisbon.id}` });
  t.is(detail.statusCode, 200, detail.body);
  const d = detail.json<{ memory: MemoryJson; sources: { text: string | null; role: string | null; messageId: string }[]; history: { version: number }[] }>();
  t.is(d.memory.id, lisbon.id);
  t.is(d.sources[0]?.text, 'I live in Lisbon and I work at Mozilla.');
  t.is(d.sources[0]?.role, 'user');
  t.is(d.sources[0]?.messageId, 'acme-dana-m1');
  t.true(d.history.length >= 1);

  const profile = (await f.call(key, { method: 'GET', url: '/v1/users/dana/profile' })).json<{ facts: MemoryJson[] }>().facts;
  t.true(profile.length > 0);
  t.true(profile.every((m) => (m.kind === 'fact' || m.kind === 'preference') && m.status === 'active'));

  const entity = await f.call(key, { method: 'GET', url: '/v1/users/dana/entities/Lisbon?depth=2' });
  t.is(entity.statusCode, 200, entity.body);
  const n = entity.json<{ nodes: { label: string; name: string }[]; edges: unknown[] }>();
  t.true(n.nodes.some((node) => node.label === 'Entity' && /lisbon/i.test(node.name)));
  const badDepth = await f.call(key, { method: 'GET', url: '/v1/users/dana/entities/Lisbon?depth=4' });
  t.is(badDepth.statusCode, 400);

  const lessons = (await f.call(key, { method: 'GET', url: '/v1/users/dana/lessons' })).json<{ lessons: { pattern: string }[] }>().lessons;
  t.deepEqual(
    lessons.map((l) => l.pattern),
    ['instruction-injection'],
  );
});

test.serial('quarantine queue; approve and reject with an admin key', async (t) => {
  // A second user whose injected message we reject.
  await f.call(key, { method: 'POST', url: '/v1/events', payload: [message('acme', 'erin', 1, INJECTION, 'tool')] });
  await f.server.idle();

  const queue = await f.call(key, { method: 'GET', url: '/v1/quarantine' });
  t.is(queue.statusCode, 200, queue.body);
  const items = queue.json<{ items: { userId: string; memoryId: string; reasons: string[]; text: string }[] }>().items;
  t.deepEqual(items.map((i) => i.userId).sort(), ['dana', 'erin']);
  t.true(items.every((i) => i.reasons.length > 0 && i.text.includes('deals.example')));
  const onlyErin = (await f.call(key, { method: 'GET', url: '/v1/quarantine?user=erin' })).json<{ items: { userId: string }[] }>().items;
  t.deepEqual(
    onlyErin.map((i) => i.userId),
    ['erin'],
  );

  const dana = items.find((i) => i.userId === 'dana');
  const erin = items.find((i) => i.userId === 'erin');
  if (!dana || !erin) return t.fail('missing queue items');
  const approved = await f.call(admin, { method: 'POST', url: `/v1/quarantine/${dana.memoryId}/approve`, payload: { user: 'dana', reason: 'a test of approval' } });
  t.is(approved.statusCode, 200, approved.body);
  t.is(approved.json<{ memory: MemoryJson }>().memory.status, 'active');
  const rejected = await f.call(admin, { method: 'POST', url: `/v1/quarantine/${erin.memoryId}/reject`, payload: { user: 'erin', reason: 'an attack' } });
  t.is(rejected.statusCode, 200, rejected.body);
  t.is(rejected.json<{ memory: MemoryJson }>().memory.status, 'rejected');
  t.deepEqual((await f.call(key, { method: 'GET', url: '/v1/quarantine' })).json<{ items: unknown[] }>().items, []);

  // A second verdict on a memory that is no longer quarantined is invalid input.
  const twice = await f.call(admin, { method: 'POST', url: `/v1/quarantine/${erin.memoryId}/approve`, payload: { user: 'erin', reason: 'changed my mind' } });
  t.is(twice.statusCode, 400);
  t.is(errorCode(twice), 'invalid_input');
});

test.serial('export: everything about a user, without embeddings', async (t) => {
  const res = await f.call(key, { method: 'GET', url: '/v1/users/dana/export' });
  t.is(res.statusCode, 200, res.body);
  const data = res.json<{ tenantId: string; userId: string; memories: { state: { memory: Record<string, unknown> }; history: unknown[] }[]; lessons: unknown[] }>();
  t.is(data.tenantId, 'acme');
  t.is(data.userId, 'dana');
  t.true(data.memories.length > 0);
  t.true(data.memories.every((m) => !('embedding' in m.state.memory) && m.history.length > 0));
  t.is(data.lessons.length, 1);
});

test.serial('forget a memory: 202 with a deterministic event id, then it is gone', async (t) => {
  const sailing = (await f.engine.memories(scopeOf('acme', 'dana'))).find((s) => /sailing/.test(s.memory.text));
  if (!sailing) return t.fail('no sailing memory');
  const body = { user: 'dana', scope: 'memory', targetId: sailing.memory.id, reason: 'asked by the user' };
  // Without background processing the memory is still there for the repeated requests.
  const quiet = buildServer(f.engine, { keys: f.keys, rateLimit: false, strictResponses: true });
  const forget = (payload: object) => quiet.app.inject({ method: 'POST', url: '/v1/forget', headers: { authorization: `Bearer ${key}` }, payload });
  try {
    const first = await forget(body);
    t.is(first.statusCode, 202, first.body);
    t.is(first.json<{ positions: unknown[] }>().positions.length, 1);
    const second = await forget(body);
    t.is(first.json<{ eventId: string }>().eventId, second.json<{ eventId: string }>().eventId);
    const renewed = await forget({ ...body, requestId: 'r2' });
    t.not(renewed.json<{ eventId: string }>().eventId, first.json<{ eventId: string }>().eventId);
  } finally {
    await quiet.stop();
    await quiet.app.close();
  }
  await f.engine.runUntilIdle();
  const gone = await f.call(key, { method: 'GET', url: `/v1/users/dana/memories/${sailing.memory.id}` });
  t.is(gone.statusCode, 404);
  t.is(errorCode(gone), 'not_found');

  const missingTarget = await f.call(key, { method: 'POST', url: '/v1/forget', payload: { user: 'dana', scope: 'message' } });
  t.is(missingTarget.statusCode, 400);
  const unknown = await f.call(key, { method: 'POST', url: '/v1/forget', payload: { user: 'dana', scope: 'memory', targetId: 'no-such-memory' } });
  t.is(unknown.statusCode, 404);
});

test.serial('watermarks (admin), healthz and readyz', async (t) => {
  // Searches append access events: process them so that every projector is at the end.
  await f.engine.runUntilIdle();
  const w = await f.call(admin, { method: 'GET', url: '/v1/watermarks' });
  t.is(w.statusCode, 200, w.body);
  const marks = w.json<{ conversationEnd: number[]; memoryEnd: number[]; projected: Record<string, number[]> }>();
  t.is(marks.conversationEnd.length, f.engine.config.partitions);
  t.true(marks.conversationEnd.reduce((a, b) => a + b, 0) > 0);
  for (const offsets of Object.values(marks.projected)) t.deepEqual(offsets, marks.memoryEnd, 'idle: every projector at the end');

  const health = await f.call(null, { method: 'GET', url: '/healthz' });
  t.deepEqual(health.json(), { status: 'ok' });
  const ready = await f.call(null, { method: 'GET', url: '/readyz' });
  t.is(ready.statusCode, 200);
  t.is(ready.json<{ status: string }>().status, 'ready');
});

test.serial('readyz reports 503 with the failing check', async (t) => {
  const failing = { ready: async () => ({ ok: false, checks: { kafka: 'ok', qdrant: 'connect ECONNREFUSED 127.0.0.1:6333' } }) } as unknown as MemoryService;
  const server = buildServer(failing, { keys: f.keys, strictResponses: true });
  try {
    const res = await server.app.inject({ method: 'GET', url: '/readyz' });
    t.is(res.statusCode, 503);
    t.is(res.json<{ status: string }>().status, 'not_ready');
    t.regex(res.json<{ checks: Record<string, string> }>().checks.qdrant ?? '', /ECONNREFUSED/);
  } finally {
    await server.stop();
    await server.app.close();
  }
});

test.serial('plugins: marked ones hook every route, others keep their parsers to themselves, none is keyed unless it asks', async (t) => {
  const seen: string[] = [];
  // A Fastify callback plugin marked like fastify-plugin (the metrics plugin's shape).
  const observer = Object.assign(
    (app: FastifyInstance, _opts: unknown, done: () => void) => {
      app.addHook('onResponse', async (req) => {
        seen.push(req.routeOptions.url ?? '');
      });
      done();
    },
    { [Symbol.for('skip-override')]: true },
  );
  // An encapsulated plugin with its own raw-text parser (the publishers' shape) and an open route.
  const raw = async (app: FastifyInstance): Promise<void> => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    app.post('/v1/hooks/echo', async (req) => ({ length: String(req.body).length }));
  };
  // A plain synchronous function with a keyed route.
  const keyed = (app: FastifyInstance): void => {
    app.get('/keyed', async (req) => ({ tenant: principalOf(req).tenantId }));
  };
  const server = buildServer(f.engine, { keys: f.keys, rateLimit: false, plugins: [observer, raw, keyed] });
  try {
    const users = await server.app.inject({ method: 'GET', url: '/v1/users', headers: { authorization: `Bearer ${key}` } });
    t.is(users.statusCode, 200);
    t.true(seen.includes('/v1/users'), 'the marked plugin sees core routes');
    const echo = await server.app.inject({ method: 'POST', url: '/v1/hooks/echo', payload: 'not json', headers: { 'content-type': 'text/plain' } });
    t.is(echo.statusCode, 200, 'plugin routes are not keyed');
    t.deepEqual(echo.json(), { length: 8 });
    // The core routes still parse JSON (the plugin's parsers stayed inside it).
    const bad = await server.app.inject({ method: 'POST', url: '/v1/events', payload: '{', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' } });
    t.is(bad.statusCode, 400);
    t.is((await server.app.inject({ method: 'GET', url: '/keyed' })).statusCode, 401);
    t.deepEqual((await server.app.inject({ method: 'GET', url: '/keyed', headers: { 'x-api-key': key } })).json(), { tenant: 'acme' });
  } finally {
    await server.stop();
    await server.app.close();
  }
});

test.serial('the cluster service publishes to the log and reads the same read models as the engine', async (t) => {
  const { log, embedder, vectors, store, graph } = f.engine.ports;
  const service = new ClusterService({ log, embedder, vectors, store, graph, clock: f.engine.ports.clock });
  const [position] = await service.publish([
    {
      eventId: 'cluster-e1',
      tenantId: 'acme',
      userId: 'erin',
      conversationId: 'c9',
      sessionId: 's9',
      occurredAt: Date.parse('2024-06-01T08:00:00Z'),
      payload: { type: 'MessagePosted', messageId: 'cluster-m1', role: 'user', speaker: 'Erin', text: 'I play the cello in an orchestra.', attachmentCaptions: [] },
    },
  ]);
  t.is(position?.topic, 'conversation-events');
  await f.engine.runUntilIdle();
  const erin = scopeOf('acme', 'erin');
  const viaService = await service.search(erin, 'what instrument does Erin play', { k: 5, recordAccess: false });
  const viaEngine = await f.engine.search(erin, 'what instrument does Erin play', { k: 5, recordAccess: false });
  // Same hits in the same order; scores differ only by the retention the clock gives a few ms apart.
  const withoutScore = (hits: typeof viaService) => hits.map(({ score: _score, ...rest }) => rest);
  t.deepEqual(withoutScore(viaService), withoutScore(viaEngine));
  viaService.forEach((h, i) => t.true(Math.abs(h.score - (viaEngine[i]?.score ?? 0)) < 1e-6));
  t.true(viaService.some((h) => /cello/.test(h.text)));
  t.true((await service.ready()).ok);
});
