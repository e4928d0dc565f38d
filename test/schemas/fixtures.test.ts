import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import type { ConversationEvent, MemoryEvent } from '../../core/model.js';
import { SCHEMA_ROOT, backwardTransitiveProblems, catalogue, loadCatalogue } from '../../schemas/catalogue.js';
import { decodeConversationEvent, decodeMemoryEvent, decodeRecord } from '../../schemas/codec.js';
import { FIXTURE_ROOT, fixturePath, generateFixtures } from '../../schemas/fixtures/generate.js';
import { sampleOf } from '../../schemas/fixtures/samples.js';

const committed = ['conversation', 'memory'].flatMap((ns) =>
  fs
    .readdirSync(path.join(FIXTURE_ROOT, ns))
    .filter((f) => f.endsWith('.bin'))
    .map((f) => ({ ns, file: f, match: /^([A-Za-z]+)\.v(\d+)\.bin$/.exec(f) })),
);

test('every schema version has a committed fixture', (t) => {
  for (const e of catalogue().entries) {
    t.true(fs.existsSync(fixturePath(FIXTURE_ROOT, e.namespace, e.name, e.version)), `${e.namespace}/${e.name}.v${e.version}.bin`);
  }
});

for (const { ns, file, match } of committed) {
  test(`fixture ${ns}/${file} decodes with the current catalogue and equals its sample`, (t) => {
    const [, name = '', version = ''] = match ?? [];
    const sample = sampleOf(name, Number(version));
    if (sample === undefined) return t.fail(`no sample for ${file}`);
    const bytes = fs.readFileSync(path.join(FIXTURE_ROOT, ns, file));
    // The writer schema of those bytes is still the one of that file: history did not change.
    const entry = catalogue().get(name, Number(version));
    t.is(entry?.fingerprintHex, bytes.subarray(2, 10).toString('hex'));
    const record = decodeRecord(bytes);
    t.like(record, { name, namespace: ns, version: Number(version) });
    const expected: ConversationEvent | MemoryEvent = sample.decoded ?? sample.event;
    t.deepEqual(ns === 'conversation' ? decodeConversationEvent(bytes) : decodeMemoryEvent(bytes), expected);
  });
}

test('the v1 MessagePosted fixture reads as attachmentCaptions []', (t) => {
  const bytes = fs.readFileSync(fixturePath(FIXTURE_ROOT, 'conversation', 'MessagePosted', 1));
  const e = decodeConversationEvent(bytes);
  t.deepEqual(e.payload.type === 'MessagePosted' ? e.payload.attachmentCaptions : undefined, []);
});

test('BACKWARD_TRANSITIVE: every version of a name is readable by every later version', (t) => {
  t.deepEqual(backwardTransitiveProblems(catalogue()), []);
  t.true(catalogue().names().some((n) => catalogue().versions(n).length > 1));
});

test('BACKWARD_TRANSITIVE catches a new field without a default', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engram-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.cpSync(SCHEMA_ROOT, dir, { recursive: true });
  const v1 = JSON.parse(fs.readFileSync(path.join(dir, 'conversation', 'MessageEdited.v1.avsc'), 'utf8')) as { fields: unknown[] };
  const v2 = { ...v1, fields: [...v1.fields, { name: 'language', type: 'string' }] };
  fs.writeFileSync(path.join(dir, 'conversation', 'MessageEdited.v2.avsc'), JSON.stringify(v2));
  const problems = backwardTransitiveProblems(loadCatalogue(dir));
  t.is(problems.length, 1);
  t.regex(problems[0] ?? '', /^MessageEdited v1 cannot be read by v2/);
});

test('the generator writes every missing fixture and never overwrites one', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engram-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const historic = fixturePath(dir, 'conversation', 'MessagePosted', 1);
  fs.mkdirSync(path.dirname(historic), { recursive: true });
  fs.writeFileSync(historic, 'historic bytes');
  const first = generateFixtures(dir);
  t.is(first.written.length, catalogue().entries.length - 1);
  t.deepEqual(first.kept, [historic]);
  t.is(fs.readFileSync(historic, 'utf8'), 'historic bytes');
  // A fresh encoding of each sample equals the committed bytes (the encoder has not drifted).
  for (const f of first.written) {
    t.deepEqual(fs.readFileSync(f), fs.readFileSync(path.join(FIXTURE_ROOT, path.relative(dir, f))), f);
  }
  const second = generateFixtures(dir);
  t.is(second.written.length, 0);
  t.is(second.kept.length, catalogue().entries.length);
});
