/**
 * The schema registry client against a small fake Confluent registry (node:http on 127.0.0.1):
 * global ids per schema text, subjects with versions, and a compatibility check that, like
 * Avro's, rejects a record whose full name differs from the subject's latest (unless NONE).
 */
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { DecodeError } from '../../core/errors.js';
import { SchemaRegistryClient, SchemaRegistryError, schemaRegistryFromConfig } from '../../infra/cluster/schema-registry.js';
import { catalogue } from '../../schemas/catalogue.js';
import { decodeRecord } from '../../schemas/codec.js';

const FIXTURES = fileURLToPath(new URL('../../schemas/fixtures/', import.meta.url));
const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

interface FakeRegistry {
  readonly url: string;
  readonly schemas: string[];
  readonly subjects: Map<string, number[]>;
  readonly compatibility: Map<string, string>;
  readonly requests: { method: string; url: string; contentType: string | undefined; auth: string | undefined }[];
  /** Status codes to answer the next requests with, before behaving. */
  readonly failNext: number[];
  /** Requests to leave unanswered (for timeouts). */
  hang: boolean;
  close(): Promise<void>;
}

function recordName(schema: string): string {
  const parsed = JSON.parse(schema) as { name?: string };
  return parsed.name ?? '';
}

async function fakeRegistry(): Promise<FakeRegistry> {
  const state = {
    schemas: [] as string[],
    subjects: new Map<string, number[]>(),
    compatibility: new Map<string, string>(),
    requests: [] as FakeRegistry['requests'],
    failNext: [] as number[],
    hang: false,
  };
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString('utf8')));
    req.on('end', () => {
      state.requests.push({ method: req.method ?? '', url: req.url ?? '', contentType: req.headers['content-type'], auth: req.headers.authorization });
      if (state.hang) return;
      const send = (status: number, body: unknown): void => {
        res.writeHead(status, { 'content-type': CONTENT_TYPE });
        res.end(JSON.stringify(body));
      };
      const fail = state.failNext.shift();
      if (fail !== undefined) return send(fail, { error_code: fail * 100, message: `injected ${fail}` });
      const url = req.url ?? '';
      let m = /^\/subjects\/([^/]+)\/versions$/.exec(url);
      if (req.method === 'POST' && m) {
        const subject = decodeURIComponent(m[1] ?? '');
        const { schema } = JSON.parse(raw) as { schema: string };
        const versions = state.subjects.get(subject) ?? [];
        let id = state.schemas.indexOf(schema) + 1;
        if (id > 0 && versions.includes(id)) return send(200, { id });
        const latest = versions.at(-1);
        const compat = state.compatibility.get(subject) ?? 'BACKWARD';
        if (latest !== undefined && compat !== 'NONE' && recordName(state.schemas[latest - 1] ?? '{}') !== recordName(schema)) {
          return send(409, { error_code: 409, message: 'Schema being registered is incompatible with an earlier schema' });
        }
        if (id === 0) id = state.schemas.push(schema);
        versions.push(id);
        state.subjects.set(subject, versions);
        return send(200, { id });
      }
      m = /^\/schemas\/ids\/(\d+)$/.exec(url);
      if (req.method === 'GET' && m) {
        const schema = state.schemas[Number(m[1]) - 1];
        return schema === undefined ? send(404, { error_code: 40403, message: 'Schema not found' }) : send(200, { schema });
      }
      m = /^\/config\/([^/]+)$/.exec(url);
      if (req.method === 'PUT' && m) {
        const { compatibility } = JSON.parse(raw) as { compatibility: string };
        state.compatibility.set(decodeURIComponent(m[1] ?? ''), compatibility);
        return send(200, { compatibility });
      }
      send(404, { error_code: 404, message: 'not found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

function fixtureBytes(): { file: string; bytes: Buffer }[] {
  const out: { file: string; bytes: Buffer }[] = [];
  for (const ns of ['conversation', 'memory']) {
    for (const f of fs.readdirSync(path.join(FIXTURES, ns)).filter((x) => x.endsWith('.bin')).sort()) {
      out.push({ file: `${ns}/${f}`, bytes: fs.readFileSync(path.join(FIXTURES, ns, f)) });
    }
  }
  return out;
}

test('registerCatalogue registers every schema, oldest first, under topic-record subjects; again is a no-op', async (t) => {
  const reg = await fakeRegistry();
  t.teardown(() => reg.close());
  const client = new SchemaRegistryClient({ url: `${reg.url}/` });
  const registered = await client.registerCatalogue('dev.');
  const entries = catalogue().entries;
  t.is(registered.length, entries.length);
  t.is(reg.schemas.length, entries.length, 'one global id per schema');
  t.true(reg.requests.every((r) => r.method === 'POST' && r.contentType === CONTENT_TYPE));
  const posted = registered.find((r) => r.name === 'MessagePosted' && r.version === 2);
  t.is(posted?.subject, 'dev.conversation-events-engram.conversation.MessagePosted');
  t.deepEqual(
    reg.subjects.get('dev.conversation-events-engram.conversation.MessagePosted'),
    registered.filter((r) => r.name === 'MessagePosted').map((r) => r.id),
    'versions in catalogue order',
  );
  t.truthy(reg.subjects.get('dev.memory-events-engram.memory.MemoryAdded'));
  const again = await new SchemaRegistryClient({ url: reg.url }).registerCatalogue('dev.');
  t.deepEqual(again, registered);
  t.is(reg.schemas.length, entries.length);
});

test('single-object and Confluent framings convert both ways without touching the body', async (t) => {
  const reg = await fakeRegistry();
  t.teardown(() => reg.close());
  const client = new SchemaRegistryClient({ url: reg.url });
  const registered = await client.registerCatalogue();
  const fixtures = fixtureBytes();
  t.true(fixtures.length >= catalogue().entries.length);
  for (const { file, bytes } of fixtures) {
    const decoded = decodeRecord(bytes);
    const id = registered.find((r) => r.name === decoded.name && r.version === decoded.version)?.id;
    const confluent = Buffer.from(client.toConfluent(bytes));
    t.is(confluent[0], 0, file);
    t.is(confluent.readUInt32BE(1), id ?? -1, file);
    t.true(confluent.subarray(5).equals(bytes.subarray(10)), `${file}: same body`);
    const back = client.fromConfluent(confluent);
    t.true(Buffer.from(back).equals(bytes), `${file}: round trip`);
  }
});

test('a client that did not register looks ids up at the registry by canonical form', async (t) => {
  const reg = await fakeRegistry();
  t.teardown(() => reg.close());
  await new SchemaRegistryClient({ url: reg.url }).registerCatalogue();
  // Someone else's client: it knows no ids yet.
  const reader = new SchemaRegistryClient({ url: reg.url });
  const [{ bytes }] = fixtureBytes() as [{ file: string; bytes: Buffer }];
  const entry = catalogue().byFingerprint(bytes.subarray(2, 10));
  if (!entry) throw new Error('fixture of an unknown schema');
  const id = reg.schemas.indexOf(entry.canonical) + 1;
  const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, id]), bytes.subarray(10)]);
  t.throws(() => reader.fromConfluent(framed), { instanceOf: DecodeError });
  t.throws(() => reader.toConfluent(bytes), { instanceOf: DecodeError, message: /not registered yet/ });
  t.true(Buffer.from(await reader.fromConfluentAsync(framed)).equals(bytes));
  t.is((await reader.resolveId(id)).fullName, entry.fullName);
  // Registered with different whitespace elsewhere: still the same canonical form.
  reg.schemas.push(JSON.stringify(JSON.parse(entry.canonical), null, 2));
  t.is((await reader.resolveId(reg.schemas.length)).fingerprintHex, entry.fingerprintHex);
  reg.schemas.push('{"type":"record","name":"other.Thing","fields":[]}');
  await t.throwsAsync(reader.resolveId(reg.schemas.length), { instanceOf: DecodeError, message: /not in the catalogue/ });
  const missing = await t.throwsAsync(reader.resolveId(9999), { instanceOf: SchemaRegistryError });
  t.false(missing?.retriable);
});

test('the topic strategy needs compatibility NONE; a 409 says so clearly', async (t) => {
  const reg = await fakeRegistry();
  t.teardown(() => reg.close());
  const client = new SchemaRegistryClient({ url: reg.url, subjectStrategy: 'topic' });
  const err = await t.throwsAsync(client.registerCatalogue('x.'), { instanceOf: SchemaRegistryError });
  t.false(err?.retriable);
  t.is(err?.code, 'schema_registry');
  t.regex(err?.message ?? '', /subject x\.conversation-events-value rejected \w+ v\d as incompatible \(409\)/);
  t.regex(err?.message ?? '', /compatibility to NONE or use the topic-record strategy/);
  reg.compatibility.set('x.conversation-events-value', 'NONE');
  reg.compatibility.set('x.memory-events-value', 'NONE');
  const registered = await client.registerCatalogue('x.');
  t.deepEqual([...new Set(registered.map((r) => r.subject))].sort(), ['x.conversation-events-value', 'x.memory-events-value']);
});

test('registry failures: 5xx and unreachable are retriable, 4xx are not; bad framing is a DecodeError', async (t) => {
  const reg = await fakeRegistry();
  t.teardown(() => reg.close());
  const client = new SchemaRegistryClient({ url: reg.url, timeoutMs: 300 });
  reg.failNext.push(503);
  const busy = await t.throwsAsync(client.registerCatalogue(), { instanceOf: SchemaRegistryError });
  t.true(busy?.retriable);
  t.is(busy?.details.status, 503);
  reg.failNext.push(401);
  t.false((await t.throwsAsync(client.registerCatalogue(), { instanceOf: SchemaRegistryError }))?.retriable);
  reg.hang = true;
  t.true((await t.throwsAsync(client.registerCatalogue(), { instanceOf: SchemaRegistryError }))?.retriable, 'timeout');
  reg.hang = false;
  await reg.close();
  t.true((await t.throwsAsync(client.registerCatalogue(), { instanceOf: SchemaRegistryError }))?.retriable, 'unreachable');
  t.throws(() => client.toConfluent(Uint8Array.of(0xc3, 0x01, 1)), { instanceOf: DecodeError });
  t.throws(() => client.toConfluent(Uint8Array.of(0, 0, 0, 0, 1, 2)), { instanceOf: DecodeError });
  t.throws(() => client.toConfluent(Buffer.concat([Buffer.from([0xc3, 0x01]), Buffer.alloc(8, 7), Buffer.from([1])])), {
    instanceOf: DecodeError,
    message: /unknown schema fingerprint/,
  });
  t.throws(() => client.fromConfluent(Uint8Array.of(0xc3, 0, 0, 0, 1)), { instanceOf: DecodeError });
  t.throws(() => client.fromConfluent(Uint8Array.of(0, 0, 0)), { instanceOf: DecodeError });
});

test('credentials in the URL become basic auth; no URL in the config means no registry', async (t) => {
  const reg = await fakeRegistry();
  t.teardown(() => reg.close());
  const client = schemaRegistryFromConfig({ schemaRegistryUrl: reg.url.replace('http://', 'http://svc:s%3Acret@') });
  t.truthy(client);
  await client?.registerCatalogue();
  t.is(reg.requests[0]?.auth, `Basic ${Buffer.from('svc:s:cret').toString('base64')}`);
  t.is(schemaRegistryFromConfig({}), null);
});
