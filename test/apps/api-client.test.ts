/**
 * The TypeScript client: its committed types are generated from the current OpenAPI document (a
 * stale `schema.d.ts` fails here: run `npm run gen:client`), and it works against a real server.
 */
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import test from 'ava';
import { createEngramClient, EngramApiError, type ConversationEventInput } from '../../clients/typescript/client.js';
import { generateClient, OPENAPI_FILE, SCHEMA_FILE } from '../../clients/typescript/generate.js';
import { INJECTION, message, openApiFixture, type ApiFixture } from './api-fixtures.js';

let f: ApiFixture;
let base: string;

test.before(async () => {
  f = await openApiFixture();
  base = await f.server.app.listen({ port: 0, host: '127.0.0.1' });
});

test.after.always(async () => {
  await f.close();
});

test('the committed openapi.json and schema.d.ts are up to date (else: npm run gen:client)', async (t) => {
  const { openapi, types } = await generateClient();
  t.is(readFileSync(OPENAPI_FILE, 'utf8'), openapi, 'clients/typescript/openapi.json is stale: run `npm run gen:client`');
  t.is(readFileSync(SCHEMA_FILE, 'utf8'), types, 'clients/typescript/schema.d.ts is stale: run `npm run gen:client`');
});

test.serial('publish, read our own writes, read a memory, review and forget through the client', async (t) => {
  const client = createEngramClient({ baseUrl: base, apiKey: f.key('acme'), timeoutMs: 20_000 });
  const admin = createEngramClient({ baseUrl: `${base}/`, apiKey: f.key('acme', true) });
  const published = await client.publish([
    message('acme', 'zoe', 1, 'I moved to Berlin last year and I teach chemistry.'),
    message('acme', 'zoe', 2, INJECTION, 'tool'),
  ] as unknown as ConversationEventInput[]);
  t.is(published.accepted, 2);
  const offset = Math.max(...published.positions.map((p) => p.offset));

  const found = await client.search({ user: 'zoe', q: 'where does zoe live', k: 5, minOffset: offset, waitMs: 10_000, kinds: ['fact', 'episode'] });
  t.true(found.caughtUp);
  const hit = found.results.find((h) => /Berlin/.test(h.text));
  if (!hit) return t.fail('no Berlin hit');
  t.true(found.results.every((h) => h.kind === 'fact' || h.kind === 'episode'));

  const detail = await client.memory('zoe', hit.id);
  t.is(detail.memory.id, hit.id);
  t.is(detail.sources[0]?.text, 'I moved to Berlin last year and I teach chemistry.');
  t.deepEqual(await client.users(), ['zoe']);
  t.true((await client.memories('zoe', { all: true })).length >= (await client.memories('zoe')).length);
  t.true((await client.profile('zoe')).every((m) => m.kind === 'fact' || m.kind === 'preference'));
  t.is((await client.lessons('zoe')).length, 1);
  t.is((await client.exportUser('zoe')).userId, 'zoe');
  t.true(Array.isArray((await client.entity('zoe', 'Berlin')).nodes));

  const [held] = await client.quarantine('zoe');
  if (!held) return t.fail('nothing quarantined');
  const rejected = await admin.reject(held.memoryId, 'zoe', 'prompt injection');
  t.is(rejected.status, 'rejected');
  t.is((await admin.watermarks()).conversationEnd.length, f.engine.config.partitions);

  const forgotten = await client.forget({ user: 'zoe', scope: 'memory', targetId: hit.id });
  t.regex(forgotten.eventId, /^forget-/);
  await f.server.idle();
  const gone = await t.throwsAsync(client.memory('zoe', hit.id), { instanceOf: EngramApiError });
  t.is(gone?.status, 404);
  t.is(gone?.code, 'not_found');
});

test('errors are EngramApiErrors with the API code; transport failures are `network`', async (t) => {
  const anonymous = createEngramClient({ baseUrl: base });
  const unauthorized = await t.throwsAsync(anonymous.users(), { instanceOf: EngramApiError });
  t.is(unauthorized?.status, 401);
  t.is(unauthorized?.code, 'unauthorized');

  const normal = createEngramClient({ baseUrl: base, apiKey: f.key('acme') });
  const forbidden = await t.throwsAsync(normal.watermarks(), { instanceOf: EngramApiError });
  t.is(forbidden?.code, 'forbidden');
  const invalid = await t.throwsAsync(normal.search({ user: 'zoe', q: 'x', k: 100_000 }), { instanceOf: EngramApiError });
  t.is(invalid?.code, 'invalid_input');

  // A port nothing listens on (one the system gave us, then closed).
  const probe = createServer();
  await new Promise<void>((ok) => probe.listen(0, '127.0.0.1', ok));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((ok) => probe.close(() => ok()));
  const down = createEngramClient({ baseUrl: `http://127.0.0.1:${port}`, apiKey: 'egk_x', timeoutMs: 2000 });
  const network = await t.throwsAsync(down.users(), { instanceOf: EngramApiError });
  t.is(network?.code, 'network');
});
