import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { ConfigError } from '../../core/errors.js';
import { SCHEMA_ROOT, catalogue, loadCatalogue } from '../../schemas/catalogue.js';
import { rabinFingerprint } from '../../schemas/rabin.js';

const CONVERSATION = [
  'FeedbackGiven',
  'ForgetRequested',
  'GuardRescanRequested',
  'MessageEdited',
  'MessagePosted',
  'MessageRedacted',
  'QuarantineReviewed',
  'SessionEnded',
];
const MEMORY = [
  'ClusterAssigned',
  'ClusterModelFitted',
  'LessonRecorded',
  'MemoryAccessed',
  'MemoryAdded',
  'MemoryArchived',
  'MemoryForgotten',
  'MemoryInvalidated',
  'MemoryQuarantined',
  'MemoryReinforced',
  'MemoryReleased',
  'MemoryRestored',
  'MemoryUpdated',
  'ModelCalled',
];

test('the catalogue has every event type, MessagePosted in two versions', (t) => {
  const cat = catalogue();
  t.deepEqual([...cat.names()], [...CONVERSATION, ...MEMORY].sort());
  for (const name of CONVERSATION) t.is(cat.latest(name)?.fullName, `engram.conversation.${name}`);
  for (const name of MEMORY) t.is(cat.latest(name)?.fullName, `engram.memory.${name}`);
  t.deepEqual(cat.versions('MessagePosted').map((e) => e.version), [1, 2]);
  t.is(cat.latest('MessagePosted')?.version, 2);
  t.is(cat.latest('engram.conversation.MessagePosted')?.version, 2);
  for (const name of cat.names().filter((n) => n !== 'MessagePosted')) t.is(cat.versions(name).length, 1, name);
  t.is(cat.get('MessagePosted', 3), undefined);
  t.is(cat.latest('Nope'), undefined);
});

test('each entry carries its canonical form and the fingerprint of it', (t) => {
  for (const e of catalogue().entries) {
    t.deepEqual(e.fingerprint, rabinFingerprint(e.canonical));
    t.is(catalogue().byFingerprint(e.fingerprint), e);
    t.false(e.canonical.includes('"doc"') || e.canonical.includes('"default"') || e.canonical.includes('logicalType'));
  }
  t.is(catalogue().byFingerprint(new Uint8Array(8)), undefined);
  t.is(catalogue().byFingerprint(new Uint8Array(3)), undefined);
});

test('shared named types are inlined by full name into the canonical form', (t) => {
  const canonical = catalogue().latest('MemoryAdded')?.canonical ?? '';
  for (const name of ['Memory', 'Triple', 'SourceRef', 'Provenance', 'Decision', 'MemoryKind', 'Granularity', 'DecisionOp']) {
    t.true(canonical.includes(`{"name":"engram.memory.${name}",`), name);
  }
  t.true(catalogue().latest('MessagePosted')?.canonical.includes('{"name":"engram.conversation.MessageRole","type":"enum"'));
});

test.serial('the catalogue loads from any working directory', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engram-'));
  const cwd = process.cwd();
  t.teardown(() => {
    process.chdir(cwd);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  process.chdir(dir);
  t.is(loadCatalogue().entries.length, catalogue().entries.length);
});

/** A copy of the committed schemas in a temp dir, to break on purpose. */
function copyOfSchemas(t: ExecutionContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engram-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.cpSync(SCHEMA_ROOT, dir, { recursive: true });
  return dir;
}

test('a version that only changes a default is refused (same fingerprint)', (t) => {
  const dir = copyOfSchemas(t);
  const v1 = JSON.parse(fs.readFileSync(path.join(dir, 'conversation', 'MessageRedacted.v1.avsc'), 'utf8')) as { doc: string };
  fs.writeFileSync(path.join(dir, 'conversation', 'MessageRedacted.v2.avsc'), JSON.stringify({ ...v1, doc: 'changed' }));
  t.throws(() => loadCatalogue(dir), { instanceOf: ConfigError, message: /same canonical form/ });
});

test('a gap in versions, a wrong record name or a missing type is refused', (t) => {
  const gap = copyOfSchemas(t);
  fs.renameSync(path.join(gap, 'memory', 'MemoryAdded.v1.avsc'), path.join(gap, 'memory', 'MemoryAdded.v2.avsc'));
  t.throws(() => loadCatalogue(gap), { instanceOf: ConfigError, message: /without gaps/ });

  const misnamed = copyOfSchemas(t);
  fs.copyFileSync(path.join(misnamed, 'memory', 'MemoryAdded.v1.avsc'), path.join(misnamed, 'memory', 'MemoryMoved.v1.avsc'));
  t.throws(() => loadCatalogue(misnamed), { instanceOf: ConfigError, message: /expected engram\.memory\.MemoryMoved/ });

  const missing = copyOfSchemas(t);
  fs.rmSync(path.join(missing, 'memory', 'types', 'Triple.avsc'));
  t.throws(() => loadCatalogue(missing), { instanceOf: ConfigError, message: /engram\.memory\.Memory/ });
});
