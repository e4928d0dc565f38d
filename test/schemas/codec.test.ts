import test from 'ava';
import type { ExecutionContext } from 'ava';
import { fc, testProp } from '@fast-check/ava';
import { DecodeError, ValidationError } from '../../core/errors.js';
import type { ConversationEvent, MemoryEvent } from '../../core/model.js';
import { catalogue } from '../../schemas/catalogue.js';
import {
  decodeConversationEvent,
  decodeMemoryEvent,
  decodeRecord,
  encodeConversationEvent,
  encodeMemoryEvent,
  encodeRecord,
  eventRecord,
} from '../../schemas/codec.js';
import { SAMPLES } from '../../schemas/fixtures/samples.js';

const isConversation = (e: ConversationEvent | MemoryEvent): e is ConversationEvent => 'occurredAt' in e;
const latestSamples = SAMPLES.filter((s) => catalogue().latest(s.name)?.version === s.version);

function memorySample(type: MemoryEvent['payload']['type']): MemoryEvent {
  const s = latestSamples.find((x) => x.name === type);
  if (s === undefined || isConversation(s.event)) throw new Error(`no memory sample ${type}`);
  return s.event;
}
function conversationSample(type: ConversationEvent['payload']['type']): ConversationEvent {
  const s = latestSamples.find((x) => x.name === type);
  if (s === undefined || !isConversation(s.event)) throw new Error(`no conversation sample ${type}`);
  return s.event;
}

/** The DecodeError reason of decoding `bytes` with the generic decoder. */
function decodeFailure(t: ExecutionContext, bytes: Uint8Array): string {
  const err = t.throws(() => decodeRecord(bytes), { instanceOf: DecodeError });
  return String(err?.details.reason);
}

test('every event type has a sample of its latest version', (t) => {
  t.deepEqual(latestSamples.map((s) => s.name).sort(), [...catalogue().names()]);
});

for (const sample of latestSamples) {
  test(`${sample.name} round-trips`, (t) => {
    const e = sample.event;
    if (isConversation(e)) t.deepEqual(decodeConversationEvent(encodeConversationEvent(e)), e);
    else t.deepEqual(decodeMemoryEvent(encodeMemoryEvent(e)), e);
  });
}

test('bytes are C3 01, the writer fingerprint, then the body', (t) => {
  const e = conversationSample('SessionEnded');
  const bytes = encodeConversationEvent(e);
  const entry = catalogue().latest('SessionEnded');
  t.deepEqual([...bytes.subarray(0, 2)], [0xc3, 0x01]);
  t.deepEqual([...bytes.subarray(2, 10)], [...(entry?.fingerprint ?? [])]);
  const body = entry?.type.toBuffer(eventRecord(e));
  t.deepEqual([...bytes.subarray(10)], [...(body ?? [])]);
});

test('embeddings travel as little-endian float32 and come back exactly', (t) => {
  const e = memorySample('MemoryAdded');
  const bytes = Buffer.from(encodeMemoryEvent(e));
  const p = e.payload.type === 'MemoryAdded' ? e.payload : undefined;
  const embedding = p?.memory.embedding ?? [];
  const packed = Buffer.alloc(embedding.length * 4);
  embedding.forEach((v, i) => packed.writeFloatLE(v, i * 4));
  t.true(bytes.includes(packed));
  const back = decodeMemoryEvent(bytes).payload;
  t.deepEqual(back.type === 'MemoryAdded' ? back.memory.embedding : undefined, embedding);
});

test('a MessagePosted written with v1 decodes with attachmentCaptions []', (t) => {
  const e = conversationSample('MessagePosted');
  const v1 = encodeRecord('MessagePosted', 1, eventRecord(e));
  t.deepEqual([...v1.subarray(2, 10)], [...(catalogue().get('MessagePosted', 1)?.fingerprint ?? [])]);
  const decoded = decodeRecord(v1);
  t.is(decoded.version, 1);
  t.deepEqual(decodeConversationEvent(v1), { ...e, payload: { ...e.payload, attachmentCaptions: [] } } as ConversationEvent);
});

test('the decoders refuse the other namespace', (t) => {
  const memoryBytes = encodeMemoryEvent(memorySample('MemoryForgotten'));
  const convBytes = encodeConversationEvent(conversationSample('SessionEnded'));
  t.is(t.throws(() => decodeConversationEvent(memoryBytes), { instanceOf: DecodeError })?.details.reason, 'namespace');
  t.is(t.throws(() => decodeMemoryEvent(convBytes), { instanceOf: DecodeError })?.details.reason, 'namespace');
});

// ---------------------------------------------------------------- decode errors

test('wrong magic is a DecodeError', (t) => {
  const bytes = Buffer.from(encodeConversationEvent(conversationSample('MessageEdited')));
  bytes[0] = 0x00;
  t.is(decodeFailure(t, bytes), 'magic');
  bytes[0] = 0xc3;
  bytes[1] = 0x02;
  t.is(decodeFailure(t, bytes), 'magic');
  t.is(decodeFailure(t, Buffer.from('{"eventId":"x"}')), 'magic');
});

test('an unknown fingerprint is a DecodeError', (t) => {
  const bytes = Buffer.from(encodeConversationEvent(conversationSample('MessageEdited')));
  bytes[5] = (bytes[5] ?? 0) ^ 0xff;
  const err = t.throws(() => decodeConversationEvent(bytes), { instanceOf: DecodeError });
  t.is(err?.details.reason, 'fingerprint');
  t.regex(err?.message ?? '', /unknown schema fingerprint [0-9a-f]{16}/);
});

test('every truncation is a DecodeError', (t) => {
  for (const sample of [conversationSample('MessagePosted'), memorySample('MemoryAdded'), memorySample('ClusterAssigned')]) {
    const bytes = isConversation(sample) ? encodeConversationEvent(sample) : encodeMemoryEvent(sample);
    for (let n = 0; n < bytes.length; n++) t.is(decodeFailure(t, bytes.subarray(0, n)), 'truncated', `prefix of ${n} bytes`);
  }
});

test('trailing bytes are a DecodeError', (t) => {
  const bytes = encodeMemoryEvent(memorySample('MemoryRestored'));
  t.is(decodeFailure(t, Buffer.concat([bytes, Buffer.of(0)])), 'trailing');
});

test('a body that does not decode is a DecodeError', (t) => {
  const header = (name: string, version: number): Buffer =>
    Buffer.concat([Buffer.of(0xc3, 0x01), catalogue().get(name, version)?.fingerprint ?? Buffer.alloc(8)]);
  // MessagePosted v2: five empty ids, occurredAt 0, empty messageId, then role index 20 (zig-zag 40).
  const badEnum = Buffer.concat([header('MessagePosted', 2), Buffer.of(0, 0, 0, 0, 0, 0, 0, 40, 0, 0, 0)]);
  t.is(decodeFailure(t, badEnum), 'body');
  // A negative string length.
  t.is(decodeFailure(t, Buffer.concat([header('SessionEnded', 1), Buffer.of(1)])), 'body');
  // occurredAt = 2^60 does not fit a JS number exactly.
  const big = Buffer.concat([header('SessionEnded', 1), Buffer.of(0, 0, 0, 0, 0), varint(2n ** 61n)]);
  t.is(decodeFailure(t, big), 'body');
  // An embedding of 3 bytes is not a float32 vector.
  const entry = catalogue().latest('MemoryAdded');
  const record = eventRecord(memorySample('MemoryAdded'));
  const memory = { ...(record.memory as Record<string, unknown>), embedding: Buffer.of(1, 2, 3) };
  const body = entry?.type.toBuffer({ ...record, memory }) ?? Buffer.alloc(0);
  const err = t.throws(() => decodeMemoryEvent(Buffer.concat([header('MemoryAdded', 1), body])), { instanceOf: DecodeError });
  t.regex(err?.message ?? '', /memory\.embedding: 3 bytes/);
});

test('a huge array count is refused without looping over it', (t) => {
  // ClusterAssigned: envelope, memoryId, modelId, then responsibilities with a count of 2^40.
  const entry = catalogue().latest('ClusterAssigned');
  const head = Buffer.concat([Buffer.of(0xc3, 0x01), entry?.fingerprint ?? Buffer.alloc(8)]);
  const bytes = Buffer.concat([head, Buffer.of(2, 0x61, 0, 0, 0, 0, 2, 0x6d, 2, 0x6d), varint(2n ** 40n), Buffer.alloc(16)]);
  t.is(decodeFailure(t, bytes), 'truncated');
});

test('trusted bytes (authenticated as our own encoding) decode the same without the bounds walk', (t) => {
  for (const sample of latestSamples) {
    const e = sample.event;
    if (isConversation(e)) t.deepEqual(decodeConversationEvent(encodeConversationEvent(e), { trusted: true }), e, sample.name);
    else t.deepEqual(decodeMemoryEvent(encodeMemoryEvent(e), { trusted: true }), e, sample.name);
  }
  // Still a DecodeError, not a crash, should trusted bytes ever be cut short.
  const bytes = encodeMemoryEvent(memorySample('MemoryAdded'));
  t.throws(() => decodeMemoryEvent(bytes.subarray(0, bytes.length - 5), { trusted: true }), { instanceOf: DecodeError });
});

/** Zig-zag varint of a non-negative value. */
function varint(n: bigint): Buffer {
  let u = n * 2n;
  const out: number[] = [];
  do {
    const b = Number(u & 0x7fn);
    u >>= 7n;
    out.push(u > 0n ? b | 0x80 : b);
  } while (u > 0n);
  return Buffer.from(out);
}

const onlyDecodeErrors = (t: ExecutionContext, bytes: Uint8Array): void => {
  for (const decode of [decodeRecord, decodeConversationEvent, decodeMemoryEvent]) {
    try {
      decode(bytes);
    } catch (err) {
      if (!(err instanceof DecodeError)) t.fail(`threw ${String(err)}`);
    }
  }
  t.pass();
};

testProp('random bytes only ever throw DecodeError', [fc.uint8Array({ maxLength: 64 })], onlyDecodeErrors, {
  seed: 20240501,
  numRuns: 300,
});

const fingerprints = catalogue().entries.map((e) => e.fingerprint);
testProp(
  'a known header with a random body only ever throws DecodeError',
  [fc.constantFrom(...fingerprints), fc.uint8Array({ maxLength: 200 })],
  (t, fp, body) => onlyDecodeErrors(t, Buffer.concat([Buffer.of(0xc3, 0x01), fp, body])),
  { seed: 20240502, numRuns: 500 },
);

const encodedSamples = latestSamples.map((s) =>
  isConversation(s.event) ? encodeConversationEvent(s.event) : encodeMemoryEvent(s.event),
);
testProp(
  'a valid event with one byte changed only ever throws DecodeError',
  [fc.constantFrom(...encodedSamples), fc.nat(), fc.integer({ min: 1, max: 255 })],
  (t, bytes, at, xor) => {
    const copy = Buffer.from(bytes);
    const i = 10 + (at % (copy.length - 10));
    copy[i] = (copy[i] ?? 0) ^ xor;
    onlyDecodeErrors(t, copy);
  },
  { seed: 20240503, numRuns: 500 },
);

testProp(
  'any MessagePosted round-trips',
  [
    fc.record({
      text: fc.string({ unit: 'grapheme', maxLength: 40 }),
      speaker: fc.string({ minLength: 1, maxLength: 10 }),
      captions: fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }),
      role: fc.constantFrom('user', 'assistant', 'tool', 'system' as const),
      at: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    }),
  ],
  (t, r) => {
    const e: ConversationEvent = {
      ...conversationSample('MessagePosted'),
      occurredAt: r.at,
      payload: { type: 'MessagePosted', messageId: 'm', role: r.role, speaker: r.speaker, text: r.text, attachmentCaptions: r.captions },
    };
    t.deepEqual(decodeConversationEvent(encodeConversationEvent(e)), e);
  },
  { seed: 20240504, numRuns: 100 },
);

// ---------------------------------------------------------------- validation errors

function encodeFailure(t: ExecutionContext, fn: () => unknown): ValidationError | undefined {
  return t.throws(fn, { instanceOf: ValidationError });
}

test('encoding a memory event that breaks the schema names each bad field', (t) => {
  const e = memorySample('MemoryAdded');
  if (e.payload.type !== 'MemoryAdded') return t.fail();
  const memory = { ...e.payload.memory, kind: 'rumour', version: 2 ** 31, embedding: [0.5, Number.NaN] };
  const err = encodeFailure(t, () => encodeMemoryEvent({ ...e, payload: { ...e.payload, memory } } as unknown as MemoryEvent));
  t.deepEqual(err?.details.fields, ['payload.memory.embedding[1]', 'payload.memory.kind', 'payload.memory.version']);
  t.regex(err?.message ?? '', /payload\.memory\.kind: expected one of fact\|preference/);
  t.regex(err?.message ?? '', /payload\.memory\.version: expected a 32-bit integer, got 2147483648/);
});

test('a missing envelope field or a null where none is allowed is named', (t) => {
  const e = conversationSample('MessageEdited');
  const { tenantId: _dropped, ...noTenant } = e;
  t.is(encodeFailure(t, () => encodeConversationEvent(noTenant as ConversationEvent))?.details.field, 'tenantId');
  const nullText = { ...e, payload: { ...e.payload, text: null } } as unknown as ConversationEvent;
  t.is(encodeFailure(t, () => encodeConversationEvent(nullText))?.details.field, 'payload.text');
  const m = memorySample('MemoryInvalidated');
  const nested = { ...m, payload: { ...m.payload, decision: { op: 'ADD', reason: 'x', comparedWith: [1] } } } as unknown as MemoryEvent;
  t.is(encodeFailure(t, () => encodeMemoryEvent(nested))?.details.field, 'payload.decision.comparedWith[0]');
});

test('an unknown or foreign payload type is a ValidationError on payload.type', (t) => {
  const e = conversationSample('SessionEnded');
  const unknown = { ...e, payload: { type: 'MessageDeleted' } } as unknown as ConversationEvent;
  t.is(encodeFailure(t, () => encodeConversationEvent(unknown))?.details.field, 'payload.type');
  const foreign = memorySample('MemoryForgotten') as unknown as ConversationEvent;
  t.is(encodeFailure(t, () => encodeConversationEvent(foreign))?.details.field, 'payload.type');
  t.throws(() => encodeRecord('MessagePosted', 3, {}), { instanceOf: ValidationError, message: /unknown schema MessagePosted v3/ });
});
