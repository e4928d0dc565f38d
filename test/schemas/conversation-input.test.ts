import test from 'ava';
import type { ExecutionContext } from 'ava';
import { ValidationError } from '../../core/errors.js';
import type { ConversationEvent } from '../../core/model.js';
import { MAX_TEXT_BYTES, parseConversationEvent, validateConversationEvent } from '../../schemas/conversation-input.js';
import { decodeConversationEvent, encodeConversationEvent } from '../../schemas/codec.js';

const envelope = {
  eventId: 'evt-1',
  tenantId: 'acme',
  userId: 'caroline',
  conversationId: 'conv-1',
  sessionId: 'sess-1',
};

function refused(t: ExecutionContext, json: unknown): ValidationError {
  const err = t.throws(() => parseConversationEvent(json), { instanceOf: ValidationError });
  if (err === undefined) throw new Error('not refused');
  return err;
}

test('a minimal message takes its defaults and an ISO date with a zone', (t) => {
  const e = parseConversationEvent({
    ...envelope,
    occurredAt: '2024-05-01T12:00:00+02:00',
    payload: { type: 'MessagePosted', messageId: 'm1', text: 'I moved to Lisbon.' },
  });
  t.deepEqual(e, {
    ...envelope,
    occurredAt: Date.UTC(2024, 4, 1, 10, 0, 0),
    payload: { type: 'MessagePosted', messageId: 'm1', role: 'user', speaker: 'caroline', text: 'I moved to Lisbon.', attachmentCaptions: [] },
  });
  // The parsed event is a complete domain event: it validates and round-trips the wire.
  t.notThrows(() => validateConversationEvent(e));
  t.deepEqual(decodeConversationEvent(encodeConversationEvent(e)), e);
});

test('given values win over defaults; epoch ms is accepted', (t) => {
  const e = parseConversationEvent({
    ...envelope,
    occurredAt: 1_714_557_600_000,
    payload: { type: 'MessagePosted', messageId: 'm1', role: 'assistant', speaker: 'Bot', text: 'Noted.', attachmentCaptions: ['a map'] },
  });
  t.is(e.occurredAt, 1_714_557_600_000);
  t.like(e.payload, { role: 'assistant', speaker: 'Bot', attachmentCaptions: ['a map'] });
});

test('nullable fields default to null', (t) => {
  const at = '2024-05-01T12:00:00Z';
  t.deepEqual(parseConversationEvent({ ...envelope, occurredAt: at, payload: { type: 'FeedbackGiven', rating: 'up' } }).payload, {
    type: 'FeedbackGiven',
    memoryId: null,
    messageId: null,
    rating: 'up',
    comment: null,
  });
  t.deepEqual(parseConversationEvent({ ...envelope, occurredAt: at, payload: { type: 'MessageRedacted', messageId: 'm' } }).payload, {
    type: 'MessageRedacted',
    messageId: 'm',
    reason: null,
  });
  t.deepEqual(parseConversationEvent({ ...envelope, occurredAt: at, payload: { type: 'ForgetRequested', scope: 'user' } }).payload, {
    type: 'ForgetRequested',
    scope: 'user',
    targetId: null,
    reason: null,
  });
  t.deepEqual(parseConversationEvent({ ...envelope, occurredAt: at, payload: { type: 'SessionEnded' } }).payload, { type: 'SessionEnded' });
});

test('bad tenant and user ids are refused by name', (t) => {
  const payload = { type: 'SessionEnded' };
  const err = refused(t, { ...envelope, tenantId: 'acme corp', userId: 'a/b', occurredAt: 0, payload });
  t.deepEqual(err.details.fields, ['tenantId', 'userId']);
  t.regex(err.message, /tenantId: must be 1-64 characters/);
  t.deepEqual(refused(t, { ...envelope, tenantId: 'x'.repeat(65), occurredAt: 0, payload }).details.fields, ['tenantId']);
});

test('missing fields are named with their path', (t) => {
  const err = refused(t, { ...envelope, sessionId: undefined, occurredAt: 0, payload: { type: 'MessagePosted', text: 'hi' } });
  t.deepEqual(err.details.fields, ['sessionId', 'payload.messageId']);
  t.regex(err.message, /payload\.messageId: .*expected string/);
  t.deepEqual(refused(t, { ...envelope, occurredAt: 0 }).details.fields, ['payload']);
});

test('an unknown payload type is refused on payload.type', (t) => {
  const err = refused(t, { ...envelope, occurredAt: 0, payload: { type: 'MessageDeleted', messageId: 'm' } });
  t.deepEqual(err.details.fields, ['payload.type']);
  t.regex(err.message, /payload\.type: .*MessagePosted/);
});

test('unknown fields, bad dates, long ids and long texts are refused', (t) => {
  const posted = { type: 'MessagePosted', messageId: 'm', text: 'hi' };
  t.deepEqual(refused(t, { ...envelope, occurredAt: 0, payload: { ...posted, attachmentCaption: ['x'] } }).details.fields, [
    'payload.attachmentCaption',
  ]);
  for (const occurredAt of ['yesterday', '2024-05-01T12:00:00', -1, 1.5]) {
    t.deepEqual(refused(t, { ...envelope, occurredAt, payload: posted }).details.fields, ['occurredAt'], String(occurredAt));
  }
  t.deepEqual(refused(t, { ...envelope, eventId: '', occurredAt: 0, payload: posted }).details.fields, ['eventId']);
  t.deepEqual(refused(t, { ...envelope, conversationId: 'c'.repeat(257), occurredAt: 0, payload: posted }).details.fields, ['conversationId']);
  // 32 KB of UTF-8: 'é' is two bytes.
  t.notThrows(() => parseConversationEvent({ ...envelope, occurredAt: 0, payload: { ...posted, text: 'é'.repeat(MAX_TEXT_BYTES / 2) } }));
  const long = { ...posted, text: 'é'.repeat(MAX_TEXT_BYTES / 2 + 1), attachmentCaptions: ['ok', 'x'.repeat(MAX_TEXT_BYTES + 1)] };
  t.deepEqual(refused(t, { ...envelope, occurredAt: 0, payload: long }).details.fields, ['payload.text', 'payload.attachmentCaptions[1]']);
  t.deepEqual(refused(t, { ...envelope, occurredAt: 0, payload: { ...posted, role: 'admin' } }).details.fields, ['payload.role']);
});

test('a forget request about a memory or a message needs its target', (t) => {
  const err = refused(t, { ...envelope, occurredAt: 0, payload: { type: 'ForgetRequested', scope: 'memory' } });
  t.deepEqual(err.details.fields, ['payload.targetId']);
});

test('not an object is refused', (t) => {
  for (const json of [null, 'text', 42, []]) t.regex(refused(t, json).message, /^invalid conversation event: \(event\): /);
});

test('validateConversationEvent applies the same rules without defaults', (t) => {
  const good: ConversationEvent = {
    ...envelope,
    occurredAt: 0,
    payload: { type: 'MessagePosted', messageId: 'm', role: 'user', speaker: 'Caroline', text: 'hi', attachmentCaptions: [] },
  };
  t.notThrows(() => validateConversationEvent(good));
  const badTenant = { ...good, tenantId: '../etc' };
  t.throws(() => validateConversationEvent(badTenant), { instanceOf: ValidationError, message: /tenantId/ });
  // A decoded event always has every field; one missing a default-able field is refused here.
  const { speaker: _speaker, ...noSpeaker } = good.payload as Extract<ConversationEvent['payload'], { type: 'MessagePosted' }>;
  const err = t.throws(() => validateConversationEvent({ ...good, payload: noSpeaker } as unknown as ConversationEvent), {
    instanceOf: ValidationError,
  });
  t.deepEqual(err?.details.fields, ['payload.speaker']);
  t.throws(() => validateConversationEvent({ ...good, occurredAt: '2024-05-01T12:00:00Z' } as unknown as ConversationEvent), {
    instanceOf: ValidationError,
    message: /occurredAt/,
  });
});
