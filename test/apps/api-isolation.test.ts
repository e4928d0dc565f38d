/**
 * Tenant isolation through the whole API: with data in tenants A (acme) and B (globex), keys of A
 * (normal and admin) read nothing of B through any route, and change nothing of B. Routes are
 * enumerated from the OpenAPI document, and requests are generated from each route's schemas
 * with B's user ids, memory ids and entity names, so a new route is covered without editing
 * this test.
 */
import test from 'ava';
import type { InjectOptions } from 'fastify';
import { mcpPlugin } from '../../apps/mcp/http.js';
import { scopeOf } from '../../core/scope.js';
import { INJECTION, message, openApiFixture, type ApiFixture } from './api-fixtures.js';

type Json = Record<string, unknown>;
interface Operation {
  readonly method: string;
  readonly path: string;
  readonly op: Json;
}

/** B's secrets: none of these may appear in an answer to A, unless A put it in the request. */
const B_WORDS = ['Zanzibar', 'Quokka', 'marimba'];
const B_USERS = ['bob', 'dana'];

let f: ApiFixture;
let bMemoryIds: string[] = [];

test.before(async () => {
  // With the plugins that serve keyed routes (MCP), so that their documented routes are covered too.
  f = await openApiFixture({}, (engine) => [mcpPlugin(engine)]);
  const a = f.key('acme');
  const b = f.key('globex');
  const publish = async (key: string, events: Json[]) => {
    const res = await f.call(key, { method: 'POST', url: '/v1/events', payload: events });
    if (res.statusCode !== 202) throw new Error(res.body);
  };
  await publish(a, [message('acme', 'dana', 1, 'I live in Lisbon and I play the piano.'), message('acme', 'carol', 1, 'I work at a bakery in Porto.')]);
  // Same user id (dana) in both tenants, plus a user only B has (bob).
  await publish(b, [
    message('globex', 'dana', 1, 'My secret project is called Zanzibar and I live in Lisbon.'),
    message('globex', 'bob', 1, 'I adopted a Quokka and I play the marimba.'),
    message('globex', 'bob', 2, INJECTION.replace('deals.example', 'Zanzibar.example'), 'tool'),
  ]);
  await f.server.idle();
  for (const user of B_USERS) bMemoryIds.push(...(await f.engine.memories(scopeOf('globex', user), true)).map((s) => s.memory.id));
  bMemoryIds = [...new Set(bMemoryIds)];
  if (bMemoryIds.length === 0 || (await f.engine.quarantine('globex')).length === 0) throw new Error('fixture: B has no memories or no quarantined memory');
});

test.after.always(async () => {
  await f.close();
});

/** Everything B has, to compare before and after A's requests. */
async function snapshotOfB(): Promise<unknown> {
  const out: Json = { users: await f.engine.users('globex'), quarantine: await f.engine.quarantine('globex') };
  for (const user of B_USERS) {
    const scope = scopeOf('globex', user);
    out[user] = {
      memories: (await f.engine.memories(scope, true)).map((s) => [s.memory.id, s.status, s.version, s.memory.text]),
      lessons: (await f.engine.lessons(scope)).map((l) => l.id),
    };
  }
  return out;
}

/** Every operation of the document. */
function operations(doc: Json): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
    for (const [method, op] of Object.entries(item)) {
      if (['get', 'post', 'put', 'patch', 'delete'].includes(method)) out.push({ method: method.toUpperCase(), path, op: op as Json });
    }
  }
  return out;
}

/** Resolves a local `$ref`. */
function resolve(doc: Json, schema: Json): Json {
  const ref = schema.$ref;
  if (typeof ref !== 'string') return schema;
  const target = ref
    .replace(/^#\//, '')
    .split('/')
    .reduce<unknown>((node, part) => (node as Json)[part], doc);
  return resolve(doc, target as Json);
}

/** Values for a field of a generated request: B's ids wherever an id of a user, memory or entity fits. */
function valuesFor(name: string, ids: { user: string; memory: string }): unknown[] | null {
  if (name === 'user' || name === 'userId') return [ids.user];
  if (name === 'tenantId') return ['globex'];
  if (['id', 'memoryId', 'targetId'].includes(name)) return [ids.memory];
  if (name === 'name' || name === 'q') return B_WORDS;
  if (name === 'occurredAt') return ['2024-05-01T10:00:00Z'];
  return null;
}

/** A sample value of a JSON schema, with B's ids in named fields. */
function sample(doc: Json, raw: Json, ids: { user: string; memory: string }, name = ''): unknown {
  const schema = resolve(doc, raw);
  const named = valuesFor(name, ids);
  if (named) return named[0];
  const choices = (schema.anyOf ?? schema.oneOf) as Json[] | undefined;
  if (choices?.[0]) return sample(doc, choices[0], ids, name);
  if (schema.const !== undefined) return schema.const;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'object': {
      const props = (schema.properties ?? {}) as Record<string, Json>;
      const required = new Set((schema.required ?? []) as string[]);
      return Object.fromEntries(
        Object.entries(props)
          .filter(([k]) => required.has(k) || valuesFor(k, ids) !== null)
          .map(([k, v]) => [k, sample(doc, v, ids, k)]),
      );
    }
    case 'array':
      return [sample(doc, (schema.items ?? {}) as Json, ids, name)];
    case 'integer':
    case 'number':
      return typeof schema.minimum === 'number' ? schema.minimum : 1;
    case 'boolean':
      return true;
    default:
      return 'x';
  }
}

/** Requests for an operation: one per combination of B's user ids and memory ids. */
function requestsFor(doc: Json, o: Operation): InjectOptions[] {
  const out: InjectOptions[] = [];
  const params = (o.op.parameters ?? []) as Json[];
  for (const user of B_USERS) {
    for (const memory of bMemoryIds) {
      const ids = { user, memory };
      let url = o.path;
      const query = new URLSearchParams();
      for (const p of params) {
        const value = sample(doc, (p.schema ?? {}) as Json, ids, String(p.name));
        if (p.in === 'path') url = url.replace(`{${String(p.name)}}`, encodeURIComponent(String(value)));
        else if (p.in === 'query' && (p.required === true || valuesFor(String(p.name), ids) !== null)) query.set(String(p.name), String(value));
      }
      const content = ((o.op.requestBody as Json | undefined)?.content as Record<string, Json> | undefined)?.['application/json'];
      const payload = content ? (sample(doc, content.schema as Json, ids) as Json) : undefined;
      const qs = query.toString();
      out.push({ method: o.method as InjectOptions['method'], url: qs ? `${url}?${qs}` : url, ...(payload === undefined ? {} : { payload }) });
    }
  }
  // Requests that do not use the ids need to be sent only once.
  return out.filter((r, i) => out.findIndex((s) => s.url === r.url && JSON.stringify(s.payload) === JSON.stringify(r.payload)) === i);
}

test.serial('a key of tenant A reads nothing of tenant B through any route, and changes nothing of B', async (t) => {
  const doc = (await f.call(null, { method: 'GET', url: '/openapi.json' })).json<Json>();
  const ops = operations(doc);
  t.true(ops.length >= 15, `the document lists the routes (${ops.length})`);
  const before = await snapshotOfB();
  const keys = { normal: f.key('acme'), admin: f.key('acme', true) };
  let requests = 0;
  const covered = new Set<string>();

  for (const o of ops) {
    for (const req of requestsFor(doc, o)) {
      for (const [kind, key] of Object.entries(keys)) {
        const res = await f.call(key, req);
        requests++;
        covered.add(`${o.method} ${o.path}`);
        const sent = `${req.url} ${JSON.stringify(req.payload ?? '')}`;
        const label = `${kind} key: ${req.method} ${req.url} ${JSON.stringify(req.payload ?? '')} → ${res.statusCode}`;
        t.true(res.statusCode < 500, `${label}: ${res.body.slice(0, 300)}`);
        for (const word of B_WORDS) if (!sent.includes(word)) t.false(res.body.includes(word), `${label} leaks "${word}"`);
        for (const id of bMemoryIds) if (!sent.includes(id)) t.false(res.body.includes(id), `${label} leaks memory ${id}`);
        if (!sent.includes('bob')) t.false(/\bbob\b/.test(res.body), `${label} leaks user bob`);
        // A memory id of B, as a path parameter, is simply not found in A.
        if (o.path.includes('{id}') && res.statusCode !== 403) t.is(res.statusCode, 404, label);
        // Events of B's tenant are refused, whatever else they say.
        if (o.path === '/v1/events') t.is(res.statusCode, 403, label);
      }
    }
  }
  t.is(covered.size, ops.length, 'every operation was exercised');
  t.log(`${requests} requests over ${ops.length} operations`);

  // Whatever A's requests published (forget requests in A's own tenant) is processed: B is untouched.
  await f.server.idle();
  await f.engine.runUntilIdle();
  t.deepEqual(await snapshotOfB(), before);
  // A's own data is still A's: A sees its users, and never B's.
  const users = await f.call(keys.normal, { method: 'GET', url: '/v1/users' });
  t.false(users.json<{ users: string[] }>().users.includes('bob'));
});

test.serial('B sees its own data through the same routes (the requests above were meaningful)', async (t) => {
  const b = f.key('globex');
  const search = await f.call(b, { method: 'GET', url: '/v1/search?user=bob&q=what%20pet%20did%20bob%20adopt' });
  t.true(search.body.includes('Quokka'));
  const mine = await f.call(b, { method: 'GET', url: '/v1/users/bob/memories?all=true' });
  const ids = mine.json<{ memories: { id: string }[] }>().memories.map((m) => m.id);
  t.true(ids.length > 0 && ids.every((id) => bMemoryIds.includes(id)));
  const detail = await f.call(b, { method: 'GET', url: `/v1/users/bob/memories/${ids[0] ?? ''}` });
  t.is(detail.statusCode, 200);
  const q = await f.call(b, { method: 'GET', url: '/v1/quarantine' });
  t.true(q.json<{ items: unknown[] }>().items.length > 0);
});
