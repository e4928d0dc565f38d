/**
 * The API's refusals, each a JSON `{ error: { code, message } }` with its status: 401 without a
 * valid key, 400 for invalid input, 403 for another tenant or a non-admin key on operations,
 * 404, 413 for large bodies, 429 past the rate limit; CORS off by default.
 */
import test from 'ava';
import type { LightMyRequestResponse } from 'fastify';
import { buildServer, configuredOptions, DEFAULT_RATE_LIMIT, type BuiltServer, type ServerOptions } from '../../apps/server/http.js';
import { loadConfig } from '../../infra/config.js';
import { MAX_K } from '../../readmodels/search.js';
import { errorCode, message, openApiFixture, type ApiFixture } from './api-fixtures.js';

let f: ApiFixture;
let key: string;
let other: string;

test.before(async () => {
  f = await openApiFixture();
  key = f.key('acme');
  other = f.key('globex');
});

test.after.always(async () => {
  await f.close();
});

/** A server over the fixture's engine and keys with other options; closed by the test. */
async function withServer<T>(opts: Partial<ServerOptions>, fn: (s: BuiltServer) => Promise<T>): Promise<T> {
  const s = buildServer(f.engine, { keys: f.keys, strictResponses: true, rateLimit: false, ...opts });
  try {
    return await fn(s);
  } finally {
    await s.stop();
    await s.app.close();
  }
}

/** The answer is a JSON error with exactly this status and code. */
function isError(t: { is(a: unknown, b: unknown, m?: string): void; deepEqual(a: unknown, b: unknown): void }, res: LightMyRequestResponse, status: number, code: string): void {
  t.is(res.statusCode, status, res.body);
  const body = res.json<{ error: { code: string; message: string } }>();
  t.is(body.error.code, code);
  t.deepEqual(Object.keys(body), ['error']);
  t.deepEqual(Object.keys(body.error).sort(), ['code', 'message']);
}

test.serial('401 without a valid key; both headers work; a revoked key stops working at once', async (t) => {
  isError(t, await f.call(null, { method: 'GET', url: '/v1/users' }), 401, 'unauthorized');
  isError(t, await f.call('not-a-key', { method: 'GET', url: '/v1/users' }), 401, 'unauthorized');
  isError(t, await f.call(`egk_${'A'.repeat(43)}`, { method: 'GET', url: '/v1/users' }), 401, 'unauthorized');
  isError(t, await f.call(null, { method: 'GET', url: '/v1/users', headers: { authorization: `Basic ${key}` } }), 401, 'unauthorized');
  t.is((await f.call(null, { method: 'GET', url: '/v1/users', headers: { 'x-api-key': key } })).statusCode, 200);
  t.is((await f.call(null, { method: 'GET', url: '/v1/users', headers: { authorization: `bearer ${key}` } })).statusCode, 200);

  const created = f.keys.create({ tenantId: 'acme', name: 'short-lived' });
  t.is((await f.call(created.key, { method: 'GET', url: '/v1/users' })).statusCode, 200);
  f.keys.revoke(created.id);
  isError(t, await f.call(created.key, { method: 'GET', url: '/v1/users' }), 401, 'unauthorized');
});

test.serial('400 for invalid input, with the field in the message', async (t) => {
  const tooMany = await f.call(key, { method: 'GET', url: `/v1/search?user=dana&q=x&k=${MAX_K + 1}` });
  isError(t, tooMany, 400, 'invalid_input');
  t.regex(tooMany.json<{ error: { message: string } }>().error.message, /query\.k/);
  isError(t, await f.call(key, { method: 'GET', url: '/v1/search?user=dana&q=x&k=0' }), 400, 'invalid_input');
  isError(t, await f.call(key, { method: 'GET', url: '/v1/search?user=dana' }), 400, 'invalid_input');
  isError(t, await f.call(key, { method: 'GET', url: '/v1/search?user=dana%2F..&q=x' }), 400, 'invalid_input');
  isError(t, await f.call(key, { method: 'GET', url: '/v1/search?user=dana&q=x&tenant=globex' }), 400, 'invalid_input');
  isError(t, await f.call(key, { method: 'GET', url: '/v1/search?user=dana&q=x&asOf=yesterday' }), 400, 'invalid_input');
  isError(t, await f.call(key, { method: 'GET', url: '/v1/search?user=dana&q=x&minOffset=0&waitMs=60000' }), 400, 'invalid_input');
  isError(t, await f.call(key, { method: 'GET', url: '/v1/users/a%20b/memories' }), 400, 'invalid_input');
  isError(t, await f.call(key, { method: 'GET', url: '/v1/users/dana/memories?all=yes' }), 400, 'invalid_input');
});

test.serial('400 for bad events: the whole batch is refused and nothing is written', async (t) => {
  const before = (await f.engine.progress()).published;
  const bad = await f.call(key, {
    method: 'POST',
    url: '/v1/events',
    payload: [message('acme', 'dana', 1, 'fine'), { ...message('acme', 'dana', 2, 'x'), payload: { type: 'MessagePosted', messageId: 'm' } }],
  });
  isError(t, bad, 400, 'invalid_input');
  t.regex(bad.json<{ error: { message: string } }>().error.message, /body\.1\.payload\.text/);
  // Internal event types (review verdicts, rescans) cannot be published by clients.
  const verdict = { ...message('acme', 'dana', 3, 'x'), payload: { type: 'QuarantineReviewed', memoryId: 'm', approve: true, reason: 'r', reviewer: null } };
  isError(t, await f.call(key, { method: 'POST', url: '/v1/events', payload: verdict }), 400, 'invalid_input');
  isError(t, await f.call(key, { method: 'POST', url: '/v1/events', payload: [] }), 400, 'invalid_input');
  const many = Array.from({ length: 1001 }, (_, i) => message('acme', 'dana', i, 'x'));
  isError(t, await f.call(key, { method: 'POST', url: '/v1/events', payload: many }), 400, 'invalid_input');
  isError(t, await f.call(key, { method: 'POST', url: '/v1/events', payload: '{"eventId":', headers: { 'content-type': 'application/json' } }), 400, 'invalid_input');
  const badDate = { ...message('acme', 'dana', 4, 'x'), occurredAt: 'last tuesday' };
  isError(t, await f.call(key, { method: 'POST', url: '/v1/events', payload: badDate }), 400, 'invalid_input');
  t.is((await f.engine.progress()).published, before);
});

test.serial("403 for another tenant's events: nothing of the batch is written", async (t) => {
  const before = (await f.engine.progress()).published;
  isError(t, await f.call(key, { method: 'POST', url: '/v1/events', payload: message('globex', 'bob', 1, 'hello') }), 403, 'forbidden');
  const mixed = [message('acme', 'dana', 1, 'mine'), message('globex', 'bob', 2, 'theirs')];
  isError(t, await f.call(key, { method: 'POST', url: '/v1/events', payload: { events: mixed } }), 403, 'forbidden');
  t.is((await f.engine.progress()).published, before);
  // The same batch is fine for the right key of each tenant.
  t.is((await f.call(other, { method: 'POST', url: '/v1/events', payload: message('globex', 'bob', 3, 'hello') })).statusCode, 202);
  await f.server.idle();
});

test.serial('403 for admin-only routes with a normal key (before the body is even read)', async (t) => {
  isError(t, await f.call(key, { method: 'GET', url: '/v1/watermarks' }), 403, 'forbidden');
  isError(t, await f.call(key, { method: 'POST', url: '/v1/quarantine/some-id/approve', payload: { user: 'dana', reason: 'x' } }), 403, 'forbidden');
  isError(t, await f.call(key, { method: 'POST', url: '/v1/quarantine/some-id/reject', payload: { nonsense: true } }), 403, 'forbidden');
  isError(t, await f.call(null, { method: 'GET', url: '/v1/watermarks' }), 401, 'unauthorized');
  const admin = f.key('acme', true);
  t.is((await f.call(admin, { method: 'GET', url: '/v1/watermarks' })).statusCode, 200);
  isError(t, await f.call(admin, { method: 'POST', url: '/v1/quarantine/some-id/approve', payload: { user: 'dana', reason: 'x' } }), 404, 'not_found');
});

test.serial('404: unknown routes and unknown memories', async (t) => {
  isError(t, await f.call(key, { method: 'GET', url: '/v1/nothing-here' }), 404, 'not_found');
  isError(t, await f.call(null, { method: 'GET', url: '/v2/search' }), 404, 'not_found');
  isError(t, await f.call(key, { method: 'GET', url: '/v1/users/dana/memories/no-such-memory' }), 404, 'not_found');
});

test.serial('413 for a body over the limit; without a key, 401 comes first', async (t) => {
  await withServer({ bodyLimit: 2048 }, async (s) => {
    const big = message('acme', 'dana', 1, 'x'.repeat(4096));
    const res = await s.app.inject({ method: 'POST', url: '/v1/events', headers: { authorization: `Bearer ${key}` }, payload: big });
    isError(t, res, 413, 'too_large');
    isError(t, await s.app.inject({ method: 'POST', url: '/v1/events', payload: big }), 401, 'unauthorized');
  });
});

test.serial('429 past the rate limit, per key', async (t) => {
  await withServer({ rateLimit: { max: 3, timeWindowMs: 60_000 } }, async (s) => {
    const get = (k: string) => s.app.inject({ method: 'GET', url: '/v1/users', headers: { authorization: `Bearer ${k}` } });
    for (let i = 0; i < 3; i++) t.is((await get(key)).statusCode, 200);
    const limited = await get(key);
    isError(t, limited, 429, 'rate_limited');
    t.truthy(limited.headers['retry-after']);
    // Another key has its own budget; health probes are not limited.
    t.is((await get(other)).statusCode, 200);
    for (let i = 0; i < 5; i++) t.is((await s.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  });
});

test.serial('CORS is off by default and on for the configured origins only', async (t) => {
  const preflight = (s: BuiltServer, origin: string) =>
    s.app.inject({ method: 'OPTIONS', url: '/v1/users', headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } });
  await withServer({}, async (s) => {
    const res = await s.app.inject({ method: 'GET', url: '/v1/users', headers: { origin: 'https://evil.example', authorization: `Bearer ${key}` } });
    t.is(res.headers['access-control-allow-origin'], undefined);
    t.is((await preflight(s, 'https://evil.example')).headers['access-control-allow-origin'], undefined);
  });
  await withServer({ corsOrigins: ['https://app.example.com'] }, async (s) => {
    const allowed = await preflight(s, 'https://app.example.com');
    t.is(allowed.headers['access-control-allow-origin'], 'https://app.example.com');
    t.regex(String(allowed.headers['access-control-allow-headers']), /authorization/i);
    t.is((await preflight(s, 'https://evil.example')).headers['access-control-allow-origin'], undefined);
  });
});

test.serial('errors carry no internal details', async (t) => {
  const broken = buildServer({ users: async () => Promise.reject(new Error('SQLITE_CORRUPT at /secret/path')) } as never, { keys: f.keys });
  try {
    const res = await broken.app.inject({ method: 'GET', url: '/v1/users', headers: { authorization: `Bearer ${key}` } });
    isError(t, res, 500, 'internal');
    t.false(res.body.includes('/secret/path'));
  } finally {
    await broken.stop();
    await broken.app.close();
  }
  t.is(errorCode(await f.call(key, { method: 'GET', url: '/v1/users/dana/memories/x' })), 'not_found');
});

test.serial('rate limit and CORS come from ENGRAM_RATE_LIMIT_PER_MINUTE and ENGRAM_CORS_ORIGINS', (t) => {
  t.deepEqual(configuredOptions(loadConfig({})), { rateLimit: { max: DEFAULT_RATE_LIMIT.max, timeWindowMs: 60_000 }, corsOrigins: [] });
  const set = configuredOptions(loadConfig({ ENGRAM_RATE_LIMIT_PER_MINUTE: '0', ENGRAM_CORS_ORIGINS: 'https://a.example, http://localhost:5173' }));
  t.deepEqual(set, { rateLimit: false, corsOrigins: ['https://a.example', 'http://localhost:5173'] });
  t.throws(() => loadConfig({ ENGRAM_CORS_ORIGINS: '*' }), { message: /corsOrigins/ });
});
