import test from 'ava';
import { ClusterService } from '../../apps/cluster-service.js';
import type { Engine } from '../../apps/engine.js';
import { buildServer } from '../../apps/server/http.js';
import type { MemoryService } from '../../apps/service.js';
import { scopeOf } from '../../core/scope.js';
import { openTestEngine, removeDir, tempDir } from '../helpers/engine.js';

const message = (n: number, text: string): Record<string, unknown> => ({
  eventId: `http-e${n}`,
  tenantId: 'acme',
  userId: 'dana',
  conversationId: 'c1',
  sessionId: 's1',
  occurredAt: `2024-05-01T10:0${n}:00Z`,
  payload: { type: 'MessagePosted', messageId: `http-m${n}`, role: 'user', speaker: 'Dana', text },
});

let dir: string;
let engine: Engine;

test.before(async () => {
  dir = tempDir();
  engine = await openTestEngine(dir);
});

test.after.always(async () => {
  await engine.close();
  removeDir(dir);
});

test.serial('publish, process in the background, search and read a memory through the API', async (t) => {
  const server = buildServer(engine, { background: () => engine.runUntilIdle() });
  try {
    const posted = await server.app.inject({
      method: 'POST',
      url: '/v1/events',
      payload: [message(1, 'I live in Lisbon and I work at Mozilla.'), message(2, 'I love sailing on weekends.')],
    });
    t.is(posted.statusCode, 202);
    t.is(posted.json<{ accepted: number }>().accepted, 2);
    await server.idle();

    const found = await server.app.inject({ method: 'GET', url: '/v1/search?tenant=acme&user=dana&q=where%20does%20dana%20live&k=5' });
    t.is(found.statusCode, 200);
    const results = found.json<{ results: { id: string; text: string }[] }>().results;
    t.true(results.some((r) => /Lisbon/.test(r.text)));

    const id = results[0]?.id ?? '';
    const detail = await server.app.inject({ method: 'GET', url: `/v1/memories/${id}?tenant=acme&user=dana` });
    t.is(detail.statusCode, 200);
    t.true(detail.json<{ history: unknown[] }>().history.length >= 1);

    // Another tenant with the same user id sees nothing, and an unknown memory is a 404.
    const other = await server.app.inject({ method: 'GET', url: '/v1/search?tenant=globex&user=dana&q=Lisbon' });
    t.deepEqual(other.json<{ results: unknown[] }>().results, []);
    const missing = await server.app.inject({ method: 'GET', url: `/v1/memories/${id}?tenant=globex&user=dana` });
    t.is(missing.statusCode, 404);
    t.is(missing.json<{ error: { code: string } }>().error.code, 'not_found');

    const ready = await server.app.inject({ method: 'GET', url: '/readyz' });
    t.is(ready.statusCode, 200);
    t.is(ready.json<{ status: string }>().status, 'ready');
  } finally {
    await server.stop();
  }
});

test.serial('bad input is a JSON error and publishes nothing', async (t) => {
  const server = buildServer(engine);
  try {
    const before = (await engine.progress()).published;
    const bad = await server.app.inject({ method: 'POST', url: '/v1/events', payload: [message(3, 'fine'), { eventId: 'x' }] });
    t.is(bad.statusCode, 400);
    t.is(bad.json<{ error: { code: string; events: unknown[] } }>().error.events.length, 1);
    t.is((await engine.progress()).published, before);
    const bigK = await server.app.inject({ method: 'GET', url: '/v1/search?tenant=acme&user=dana&q=x&k=100000' });
    t.is(bigK.statusCode, 400);
    const hostile = await server.app.inject({ method: 'GET', url: '/v1/search?tenant=acme%2F..&user=dana&q=x' });
    t.is(hostile.statusCode, 400);
  } finally {
    await server.stop();
  }
});

test.serial('readyz reports 503 with the failing check', async (t) => {
  const failing: MemoryService = {
    ...({} as MemoryService),
    ready: async () => ({ ok: false, checks: { kafka: 'ok', qdrant: 'connect ECONNREFUSED 127.0.0.1:6333' } }),
  };
  const server = buildServer(failing);
  try {
    const res = await server.app.inject({ method: 'GET', url: '/readyz' });
    t.is(res.statusCode, 503);
    t.regex(res.json<{ checks: Record<string, string> }>().checks.qdrant ?? '', /ECONNREFUSED/);
  } finally {
    await server.stop();
  }
});

test.serial('the cluster service publishes to the log and reads the same read models as the engine', async (t) => {
  const { log, embedder, vectors, store, graph } = engine.ports;
  const service = new ClusterService({ log, embedder, vectors, store, graph, clock: engine.ports.clock });
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
  await engine.runUntilIdle();
  const erin = scopeOf('acme', 'erin');
  const viaService = await service.search(erin, 'what instrument does Erin play', { k: 5 });
  const viaEngine = await engine.search(erin, 'what instrument does Erin play', { k: 5 });
  // Same hits in the same order; scores differ only by the retention the clock gives a few ms apart.
  const withoutScore = (hits: typeof viaService) => hits.map(({ score: _score, ...rest }) => rest);
  t.deepEqual(withoutScore(viaService), withoutScore(viaEngine));
  viaService.forEach((h, i) => t.true(Math.abs(h.score - (viaEngine[i]?.score ?? 0)) < 1e-6));
  t.true(viaService.some((h) => /cello/.test(h.text)));
  t.true((await service.ready()).ok);
});
