/**
 * Schema evolution battery: every committed fixture of every schema version still decodes with
 * today's catalogue, and still flows through the real consumers: old conversation events are
 * admitted by the ingest bridge (none dead-lettered) and old memory events are applied by every
 * projection (none dead-lettered). A floor manifest of the committed fixtures (count per version
 * included) makes a dropped fixture, or a dropped schema version with its fixture, fail here.
 * test/schemas/fixtures.test.ts checks each fixture against its sample and BACKWARD_TRANSITIVE.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { TOPICS } from '../../core/model.js';
import { catalogue } from '../../schemas/catalogue.js';
import { decodeConversationEvent, decodeMemoryEvent, decodeRecord } from '../../schemas/codec.js';
import { FIXTURE_ROOT } from '../../schemas/fixtures/generate.js';
import { removeDir, tempDir } from '../helpers/engine.js';
import { openBatteryEngine, reportBattery } from '../helpers/reliability.js';

const NAMESPACES = ['conversation', 'memory'] as const;
const MANIFEST = JSON.parse(
  fs.readFileSync(fileURLToPath(new URL('./fixtures/schema-fixtures.json', import.meta.url)), 'utf8'),
) as Record<(typeof NAMESPACES)[number], string[]>;
const FILE = /^([A-Za-z]+)\.v(\d+)\.bin$/;

/** Every fixture on disk: namespace, file, schema name and version. */
const onDisk = NAMESPACES.flatMap((ns) =>
  fs
    .readdirSync(path.join(FIXTURE_ROOT, ns))
    .filter((f) => f.endsWith('.bin'))
    .map((file) => {
      const [, name = '', version = '0'] = FILE.exec(file) ?? [];
      return { ns, file, name, version: Number(version), bytes: fs.readFileSync(path.join(FIXTURE_ROOT, ns, file)) };
    }),
);

const perVersion = (files: readonly string[]): Record<string, number> =>
  files.reduce<Record<string, number>>((acc, f) => {
    const v = `v${FILE.exec(f)?.[2] ?? '?'}`;
    acc[v] = (acc[v] ?? 0) + 1;
    return acc;
  }, {});

test('no committed fixture was dropped: the manifest is a floor, per file and per version', (t) => {
  for (const ns of NAMESPACES) {
    const present = new Set(onDisk.filter((f) => f.ns === ns).map((f) => f.file));
    for (const file of MANIFEST[ns]) t.true(present.has(file), `${ns}/${file} is still committed`);
    const expected = perVersion(MANIFEST[ns]);
    const actual = perVersion([...present]);
    for (const [version, count] of Object.entries(expected)) {
      t.true((actual[version] ?? 0) >= count, `${ns}: ${actual[version] ?? 0} fixtures of ${version}, at least ${count} expected`);
    }
  }
  t.true(MANIFEST.conversation.length + MANIFEST.memory.length >= 23, 'the manifest lists the fixtures of issue 7');
});

test('every fixture belongs to a schema version of the catalogue (no version was deleted under it)', (t) => {
  for (const f of onDisk) {
    const entry = catalogue().get(f.name, f.version);
    t.truthy(entry, `${f.ns}/${f.file} has its schema`);
    t.is(entry?.namespace, f.ns);
    t.is(entry?.fingerprintHex, f.bytes.subarray(2, 10).toString('hex'), `${f.file} was written with that version's schema`);
  }
});

test('every fixture of every version decodes with the current reader schemas', (t) => {
  const counts: Record<string, number> = {};
  for (const f of onDisk) {
    const record = decodeRecord(f.bytes);
    t.like(record, { name: f.name, namespace: f.ns, version: f.version });
    const event = f.ns === 'conversation' ? decodeConversationEvent(f.bytes) : decodeMemoryEvent(f.bytes);
    t.is(event.payload.type as string, f.name, `${f.file} decodes to a ${f.name}`);
    counts[`v${f.version}`] = (counts[`v${f.version}`] ?? 0) + 1;
  }
  reportBattery(t, 'schema-evolution', `${onDisk.length} committed fixtures decode (${Object.entries(counts).map(([v, n]) => `${n} of ${v}`).join(', ')})`);
});

test('old fixtures flow through the real consumers: the bridge admits them and every projection applies them', async (t) => {
  const dir = tempDir('engram-schema-');
  t.teardown(() => removeDir(dir));
  // The fixtures' embeddings are 6-d: an index of that size takes them.
  const engine = await openBatteryEngine(dir, {}, { dimensions: 6 });
  t.teardown(() => engine.close());
  const keyOf = (bytes: Buffer, ns: string): string => {
    const e = ns === 'conversation' ? decodeConversationEvent(bytes) : decodeMemoryEvent(bytes);
    return `${e.tenantId}/${e.userId}`;
  };
  const conversation = onDisk.filter((f) => f.ns === 'conversation');
  await engine.publishRecords(conversation.map((f) => ({ key: keyOf(f.bytes, f.ns), value: f.bytes })));
  // The memory samples share one memory: its whole history, the tombstone last.
  const memory = onDisk.filter((f) => f.ns === 'memory').sort((a, b) => Number(a.name === 'MemoryForgotten') - Number(b.name === 'MemoryForgotten'));
  await engine.ports.log.append(TOPICS.memory, memory.map((f) => ({ key: keyOf(f.bytes, f.ns), value: f.bytes })));
  await engine.runUntilIdle();

  const dead = await engine.deadLetters();
  t.deepEqual(dead.map((r) => `${r.headers['dlq-code']}: ${r.headers['dlq-reason']}`), [], 'no old conversation event was dead-lettered');
  const memoryDead = [];
  for (let p = 0; p < (await engine.ports.log.partitions(TOPICS.memoryDlq)); p++) memoryDead.push(...(await engine.ports.log.read(TOPICS.memoryDlq, p, 0, 100)));
  t.is(memoryDead.length, 0, 'no old memory event was dead-lettered');
  t.is(await engine.projectors.lag(), 0, 'every projection applied every old memory event');
  const scope = { tenantId: 'acme', userId: 'caroline' };
  t.is((await engine.progress()).processed, conversation.length, 'every old conversation event was admitted and handed on');
  t.is(await engine.ports.store.get(scope, '6f9d7a52-1c3b-5e4f-a0b1-c2d3e4f5a6b7'), null, 'the tombstone fixture erased the sample memory');
});
