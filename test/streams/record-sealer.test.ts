import fs from 'node:fs';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { DecodeError, ValidationError } from '../../core/errors.js';
import type { ConversationEvent, MemoryEvent } from '../../core/model.js';
import { scopeOf } from '../../core/scope.js';
import { SqliteKeyStore } from '../../infra/embedded/key-store.js';
import { decodeConversationEvent, decodeMemoryEvent, encodeConversationEvent } from '../../schemas/codec.js';
import { isSealed, sealedKeyIdOf } from '../../schemas/sealed-envelope.js';
import { RecordSealer, conversationKeyIdOf, memoryKeyIdOf } from '../../streams/record-sealer.js';
import { removeDir, tempDir } from '../helpers/engine.js';

const alice = scopeOf('acme', 'alice');

const message = (id: string, text: string): ConversationEvent => ({
  eventId: `e-${id}`,
  tenantId: 'acme',
  userId: 'alice',
  conversationId: 'c',
  sessionId: 's',
  occurredAt: 1_700_000_000_000,
  payload: { type: 'MessagePosted', messageId: id, role: 'user', speaker: 'Alice', text, attachmentCaptions: [] },
});

const forgotten: MemoryEvent = {
  eventId: 'f1',
  tenantId: 'acme',
  userId: 'alice',
  recordedAt: 1,
  causationId: 'x',
  payload: { type: 'MemoryForgotten', memoryId: 'm1', version: 2, reason: 'privacy request' },
};

function withKeys(fn: (t: ExecutionContext, keys: SqliteKeyStore, dir: string) => Promise<void>): (t: ExecutionContext) => Promise<void> {
  return async (t) => {
    const dir = tempDir('engram-keys-');
    const keys = new SqliteKeyStore(path.join(dir, 'keys.db'));
    try {
      await fn(t, keys, dir);
    } finally {
      keys.close();
      removeDir(dir);
    }
  };
}

test('key ids: a message by its own key, memories by theirs, tombstones and forget requests stay plain', (t) => {
  t.is(conversationKeyIdOf(message('m7', 'hi')), 'msg:m7');
  t.is(conversationKeyIdOf({ ...message('m7', 'x'), payload: { type: 'ForgetRequested', scope: 'user', targetId: null, reason: null } }), null);
  t.is(conversationKeyIdOf({ ...message('m7', 'x'), payload: { type: 'SessionEnded' } }), null);
  t.is(memoryKeyIdOf(forgotten), null);
  t.is(memoryKeyIdOf({ ...forgotten, payload: { type: 'MemoryAccessed', memoryIds: ['a'], accessedAt: 1 } }), 'user');
  t.is(memoryKeyIdOf({ ...forgotten, payload: { type: 'MemoryRestored', memoryId: 'm9', version: 3, reason: 'r' } }), 'mem:m9');
});

test(
  'sealed records hide their text, open with their key, and read as erased once the key is destroyed',
  withKeys(async (t, keys) => {
    const sealer = new RecordSealer(keys);
    const [a, b] = await sealer.conversationRecords([message('m1', 'my secret is walrus-19'), message('m2', 'I like tea')]);
    t.true(isSealed(a!.value));
    t.is(sealedKeyIdOf(a!.value), 'msg:m1');
    t.false(Buffer.from(a!.value).includes('walrus-19'));
    t.is(a!.key, 'acme/alice');
    t.is(a!.dedupKey, 'e-m1');
    const opened = await sealer.open(a!);
    t.false(opened.erased);
    if (!opened.erased) t.is(decodeConversationEvent(opened.bytes).eventId, 'e-m1');

    t.is(await sealer.shred(alice, ['msg:m1']), 1);
    t.deepEqual(await sealer.open(a!), { erased: true, keyId: 'msg:m1' });
    t.false((await sealer.open(b!)).erased, 'other messages keep their keys');
    t.is(await sealer.shredUser(alice), 1);
    t.true((await sealer.open(b!)).erased);
    t.is(await sealer.shredUser(alice), 0, 'idempotent');

    // Tombstones stay readable with no key at all.
    const [tomb] = await sealer.memoryRecords([forgotten]);
    t.false(isSealed(tomb!.value));
    const plain = await new RecordSealer(null).open(tomb!);
    t.false(plain.erased);
    if (!plain.erased) t.is(decodeMemoryEvent(plain.bytes).payload.type, 'MemoryForgotten');
  }),
);

test(
  'a sealed record moved to another user, or tampered with, does not open (DecodeError); plain records pass through',
  withKeys(async (t, keys) => {
    const sealer = new RecordSealer(keys);
    const [a] = await sealer.conversationRecords([message('m1', 'hello there')]);
    // Give bob the same key id so only the binding to alice's scope can stop it.
    await keys.obtain(scopeOf('acme', 'bob'), ['msg:m1']);
    await t.throwsAsync(sealer.open({ key: 'acme/bob', value: a!.value }), { instanceOf: DecodeError });
    const tampered = Uint8Array.from(a!.value);
    tampered[tampered.length - 1]! ^= 0xff;
    await t.throwsAsync(sealer.open({ key: 'acme/alice', value: tampered }), { instanceOf: DecodeError });
    await t.throwsAsync(sealer.open({ key: 'acme/alice', value: a!.value.subarray(0, 6) }), { instanceOf: DecodeError });
    await t.throwsAsync(new RecordSealer(null).open(a!), { instanceOf: DecodeError }, 'no key store: cannot open');
    const avro = encodeConversationEvent(message('m3', 'plain'));
    t.deepEqual(await sealer.open({ key: 'acme/alice', value: avro }), { erased: false, bytes: avro });
    // Sealing off writes plain Avro; with keys it still opens what was sealed and still shreds.
    const [off] = await new RecordSealer(null).conversationRecords([message('m4', 'x')]);
    t.false(isSealed(off!.value));
    const unsealing = new RecordSealer(keys, { seal: false });
    t.false(unsealing.sealing);
    const [plainNew] = await unsealing.conversationRecords([message('m5', 'y')]);
    t.false(isSealed(plainNew!.value));
    t.false((await unsealing.open(a!)).erased);
    t.is(await unsealing.shred(alice, ['msg:m1']), 1);
    t.true((await unsealing.open(a!)).erased);
  }),
);

test(
  'the key store creates keys once, validates ids, and leaves no destroyed key in its file',
  withKeys(async (t, keys, dir) => {
    const first = await keys.obtain(alice, ['user', 'msg:a']);
    const again = await keys.obtain(alice, ['user']);
    t.deepEqual(again.get('user'), first.get('user'));
    t.is(first.get('user')?.length, 32);
    t.not(Buffer.from(first.get('user')!).toString('hex'), Buffer.from(first.get('msg:a')!).toString('hex'));
    await t.throwsAsync(keys.obtain(alice, ['bogus']), { instanceOf: ValidationError });
    await t.throwsAsync(keys.get(scopeOf('acme', 'alice'), 'mem:'), { instanceOf: ValidationError });
    t.is(await keys.get(scopeOf('acme', 'carol'), 'user'), null);
    const secret = Buffer.from(first.get('msg:a')!);
    t.is(await keys.destroy(alice, ['msg:a', 'msg:never']), 1);
    t.is(await keys.get(alice, 'msg:a'), null);
    const bytes = Buffer.concat(fs.readdirSync(dir).map((f) => fs.readFileSync(path.join(dir, f))));
    t.false(bytes.includes(secret), 'the destroyed key is gone from the files');
    t.true(bytes.includes(Buffer.from(first.get('user')!)), 'the scan sees live keys');
  }),
);

test(
  'openAll opens a batch as open does record by record, reports a bad record in its place, and says which bytes authenticated',
  withKeys(async (t, keys) => {
    const sealer = new RecordSealer(keys);
    const [a, b, c] = await sealer.conversationRecords([message('m1', 'one'), message('m2', 'two'), message('m1', 'one again')]);
    const avro = encodeConversationEvent(message('m3', 'plain'));
    const tampered = Uint8Array.from(b!.value);
    tampered[tampered.length - 1]! ^= 0xff;
    await sealer.shred(alice, ['msg:m2']);
    // Bob holds a key of the same id: only the binding to alice's scope stops her record opening for him.
    await keys.obtain(scopeOf('acme', 'bob'), ['msg:m1']);
    const batch = [a!, { key: 'acme/alice', value: avro }, { key: 'acme/alice', value: tampered }, c!, { key: 'acme/bob', value: a!.value }, b!];
    const results = await sealer.openAll(batch);
    t.is(results.length, batch.length);
    const [r0, r1, r2, r3, r4, r5] = results;
    t.deepEqual(r0?.ok && r0.opened, await sealer.open(a!));
    t.true(r0?.ok && r0.authenticated);
    t.deepEqual(r1, { ok: true, opened: { erased: false, bytes: avro }, authenticated: false });
    // The key of m2 is gone: the tampered copy reads as erased like the original (no key to check it with).
    t.deepEqual(r2, { ok: true, opened: { erased: true, keyId: 'msg:m2' }, authenticated: false });
    t.true(r3?.ok && !r3.opened.erased && decodeConversationEvent(r3.opened.bytes).payload.type === 'MessagePosted');
    t.true(r4 !== undefined && !r4.ok && r4.error instanceof DecodeError, 'a record moved to another user does not open');
    t.deepEqual(r5, { ok: true, opened: { erased: true, keyId: 'msg:m2' }, authenticated: false });
    const noKeys = await new RecordSealer(null).openAll([a!]);
    t.true(noKeys[0] !== undefined && !noKeys[0].ok && noKeys[0].error instanceof DecodeError);
  }),
);
