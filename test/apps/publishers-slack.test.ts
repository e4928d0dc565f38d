import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import Fastify from 'fastify';
import { mapSlackPayload, slackSignature } from '../../apps/publishers/slack.js';
import { publishersPlugin } from '../../apps/publishers/plugin.js';
import type { PublisherSettings } from '../../apps/publishers/plugin.js';
import { StorageError } from '../../core/errors.js';
import { TOPICS } from '../../core/model.js';
import type { ConversationEvent, LogPosition } from '../../core/model.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'platforms');
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');
const SECRET = 'slack-signing-secret-for-tests';
/** The test's "now": 2024-05-01T10:05:00Z, a few minutes after the recorded messages. */
const NOW = Date.UTC(2024, 4, 1, 10, 5, 0);
const nowSeconds = String(NOW / 1000);

/** A MemoryService stand-in that records what is published. */
function fakeService(failFirst = 0) {
  const calls: ConversationEvent[][] = [];
  let offset = 0;
  let failures = failFirst;
  return {
    calls,
    published: (): ConversationEvent[] => calls.flat(),
    async publish(events: readonly ConversationEvent[]): Promise<LogPosition[]> {
      if (failures > 0) {
        failures -= 1;
        throw new StorageError('log unavailable');
      }
      calls.push([...events]);
      return events.map(() => ({ topic: TOPICS.conversation, partition: 0, offset: offset++ }));
    },
  };
}

async function appWith(service: ReturnType<typeof fakeService>, settings: Partial<PublisherSettings> = {}) {
  const app = Fastify();
  await app.register(publishersPlugin(service, { slack: { signingSecret: SECRET, tenantId: 'acme' }, clock: { now: () => NOW }, ...settings }));
  // A sibling route: the plugin's raw-body parser must not leak out of its context.
  app.post('/v1/echo', async (req) => ({ type: typeof req.body, body: req.body }));
  await app.ready();
  return app;
}

function signed(body: string, opts: { timestamp?: string; secret?: string; retry?: number } = {}) {
  const timestamp = opts.timestamp ?? nowSeconds;
  return {
    method: 'POST' as const,
    url: '/v1/hooks/slack',
    payload: body,
    headers: {
      'content-type': 'application/json',
      'x-slack-request-timestamp': timestamp,
      'x-slack-signature': slackSignature(opts.secret ?? SECRET, timestamp, body),
      ...(opts.retry === undefined ? {} : { 'x-slack-retry-num': String(opts.retry), 'x-slack-retry-reason': 'http_timeout' }),
    },
  };
}

test('answers the URL verification challenge and publishes nothing', async (t) => {
  const service = fakeService();
  const app = await appWith(service);
  const res = await app.inject(signed(fixture('slack-url-verification.json')));
  t.is(res.statusCode, 200);
  t.deepEqual(res.json(), { challenge: '7bQf3Zr1Lw9Xp2Nc8Vk4Jm6Ht0Yd5Gs3Ea1Ru7Oi9Pz' });
  t.is(service.calls.length, 0);
  // The challenge is signed too: unsigned, it is refused.
  const unsigned = await app.inject({ method: 'POST', url: '/v1/hooks/slack', payload: fixture('slack-url-verification.json'), headers: { 'content-type': 'application/json' } });
  t.is(unsigned.statusCode, 401);
  await app.close();
});

test('maps a message to MessagePosted with deterministic ids, scoped to the configured tenant', async (t) => {
  const service = fakeService();
  const app = await appWith(service);
  const body = fixture('slack-message.json');
  const res = await app.inject(signed(body));
  t.is(res.statusCode, 200);
  t.like(res.json(), { ok: true, accepted: 1, duplicates: 0, duplicate: false, ignored: [] });
  t.deepEqual(res.json<{ positions: LogPosition[] }>().positions, [{ topic: TOPICS.conversation, partition: 0, offset: 0 }]);
  const [event] = service.published();
  t.like(event, {
    tenantId: 'acme',
    userId: 'slack-U0DANA42',
    conversationId: 'slack:T0ENGRAM1:C0GENERAL',
    sessionId: 'slack:C0GENERAL:day:2024-05-01',
    occurredAt: Date.UTC(2024, 4, 1, 10, 0, 0),
    payload: {
      type: 'MessagePosted',
      messageId: 'slack:C0GENERAL:1714557600.000100',
      role: 'user',
      speaker: 'Dana',
      text: 'I moved to Lisbon last month & I love the light here',
      attachmentCaptions: [],
    },
  });
  // The same payload always maps to the same event id (and another tenant's mapping keeps it).
  const again = mapSlackPayload(JSON.parse(body), 'acme');
  t.is(again.kind === 'events' ? again.events[0]?.eventId : undefined, event?.eventId);
  await app.close();
});

test('a retried delivery (same event_id) is published once, also when the retry races the first attempt', async (t) => {
  const service = fakeService();
  const app = await appWith(service);
  const body = fixture('slack-message.json');
  const [first, racing] = await Promise.all([app.inject(signed(body)), app.inject(signed(body, { retry: 1 }))]);
  const later = await app.inject(signed(body, { retry: 2, timestamp: String(NOW / 1000 + 60) }));
  for (const res of [first, racing, later]) t.is(res.statusCode, 200);
  t.is(service.calls.length, 1);
  t.is(service.published().length, 1);
  t.like(later.json(), { ok: true, accepted: 0, duplicate: true });
  await app.close();
});

test('a failed publish is not remembered: Slack retries it and it goes through', async (t) => {
  const service = fakeService(1);
  const app = await appWith(service);
  const body = fixture('slack-message.json');
  const failed = await app.inject(signed(body));
  t.is(failed.statusCode, 503);
  t.is(failed.json<{ error: { code: string } }>().error.code, 'storage');
  t.is(failed.headers['x-slack-no-retry'], undefined);
  const retried = await app.inject(signed(body, { retry: 1 }));
  t.is(retried.statusCode, 200);
  t.like(retried.json(), { accepted: 1, duplicate: false });
  t.is(service.published().length, 1);
  await app.close();
});

test('wrong, missing and stale signatures are refused with a JSON error and nothing published', async (t) => {
  const service = fakeService();
  const app = await appWith(service);
  const body = fixture('slack-message.json');
  const wrongSecret = await app.inject(signed(body, { secret: 'not-the-secret' }));
  const tampered = signed(body);
  const tamperedRes = await app.inject({ ...tampered, payload: body.replace('Lisbon', 'Berlin') });
  const stale = await app.inject(signed(body, { timestamp: String(NOW / 1000 - 6 * 60) }));
  const future = await app.inject(signed(body, { timestamp: String(NOW / 1000 + 6 * 60) }));
  const missing = await app.inject({ method: 'POST', url: '/v1/hooks/slack', payload: body, headers: { 'content-type': 'application/json' } });
  const garbage = await app.inject({ ...signed(body), headers: { ...signed(body).headers, 'x-slack-signature': 'v0=zz' } });
  for (const res of [wrongSecret, tamperedRes, stale, future, missing, garbage]) {
    t.is(res.statusCode, 401);
    t.is(res.json<{ error: { code: string } }>().error.code, 'bad_signature');
  }
  t.regex(stale.json<{ error: { message: string } }>().error.message, /stale/);
  t.is(service.calls.length, 0);
  await app.close();
});

test('a thread reply, a bot reply, an edit and a deletion map to their conversation events', async (t) => {
  const service = fakeService();
  const app = await appWith(service);
  for (const name of ['slack-message.json', 'slack-thread-reply.json', 'slack-bot-message.json', 'slack-message-changed.json', 'slack-message-deleted.json']) {
    const res = await app.inject(signed(fixture(name)));
    t.is(res.statusCode, 200, name);
  }
  const [posted, reply, bot, edited, deleted] = service.published();
  t.like(reply, {
    userId: 'slack-U0DANA42',
    sessionId: 'slack:C0GENERAL:thread:1714557600.000100',
    payload: { type: 'MessagePosted', messageId: 'slack:C0GENERAL:1714557660.000200', role: 'user', speaker: 'slack-U0DANA42' },
  });
  // A bot's reply belongs to the person whose thread it answers, as the assistant.
  t.like(bot, {
    userId: 'slack-U0DANA42',
    sessionId: 'slack:C0GENERAL:thread:1714557600.000100',
    payload: { type: 'MessagePosted', role: 'assistant', speaker: 'Engram' },
  });
  t.like(edited, {
    userId: 'slack-U0DANA42',
    sessionId: posted?.sessionId,
    occurredAt: Date.UTC(2024, 4, 1, 10, 2, 0),
    payload: { type: 'MessageEdited', messageId: 'slack:C0GENERAL:1714557600.000100', text: 'I moved to Porto last month & I love the light here' },
  });
  t.like(deleted, {
    userId: 'slack-U0DANA42',
    sessionId: reply?.sessionId,
    occurredAt: Date.UTC(2024, 4, 1, 10, 3, 0),
    payload: { type: 'MessageRedacted', messageId: 'slack:C0GENERAL:1714557660.000200', reason: 'deleted on Slack' },
  });
  t.is(new Set(service.published().map((e) => e.eventId)).size, 5);
  await app.close();
});

test('an app_mention maps to the same event as the message it mentions in', (t) => {
  const envelope = JSON.parse(fixture('slack-message.json')) as { event: Record<string, unknown> };
  const message = mapSlackPayload(envelope, 'acme');
  const mention = mapSlackPayload({ ...envelope, event_id: 'Ev0ENGRAM099', event: { ...envelope.event, type: 'app_mention' } }, 'acme');
  t.true(message.kind === 'events' && mention.kind === 'events');
  if (message.kind !== 'events' || mention.kind !== 'events') return;
  t.is(mention.events.length, 1);
  t.deepEqual(mention.events[0], message.events[0]);
  t.not(mention.deliveryId, message.deliveryId);
});

test('unmapped subtypes are acknowledged (so Slack does not retry) and skipped', async (t) => {
  const service = fakeService();
  const app = await appWith(service);
  const res = await app.inject(signed(fixture('slack-channel-join.json')));
  t.is(res.statusCode, 200);
  t.like(res.json(), { ok: true, accepted: 0, ignored: ['Slack message subtype channel_join is not mapped'] });
  t.is(service.calls.length, 0);
  await app.close();
});

test('malformed payloads are a 400 JSON error that tells Slack not to retry, and nothing is published', async (t) => {
  const service = fakeService();
  const app = await appWith(service);
  const envelope = JSON.parse(fixture('slack-message.json')) as { event: Record<string, unknown> };
  const bodies = [
    '{"type": "event_callback", "team_id": ',
    '',
    JSON.stringify({ ...envelope, event: undefined }),
    JSON.stringify({ ...envelope, event: { ...envelope.event, ts: 'yesterday' } }),
    JSON.stringify({ ...envelope, event: { ...envelope.event, channel: 42 } }),
    JSON.stringify({ ...envelope, event: { ...envelope.event, subtype: 'message_changed' } }),
  ];
  for (const body of bodies) {
    const res = await app.inject(signed(body));
    t.is(res.statusCode, 400, body.slice(0, 60));
    t.is(res.json<{ error: { code: string } }>().error.code, 'invalid_input');
    t.is(res.headers['x-slack-no-retry'], '1');
  }
  t.is(service.calls.length, 0);
  await app.close();
});

test('the route is mounted only when Slack is configured; other routes keep their JSON parser', async (t) => {
  const service = fakeService();
  const app = await appWith(service, { slack: undefined });
  const res = await app.inject(signed(fixture('slack-message.json')));
  t.is(res.statusCode, 404);
  const echo = await app.inject({ method: 'POST', url: '/v1/echo', payload: { a: 1 } });
  t.deepEqual(echo.json(), { type: 'object', body: { a: 1 } });
  await app.close();
});
