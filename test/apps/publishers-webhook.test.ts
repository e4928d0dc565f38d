import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import Fastify from 'fastify';
import type { Engine } from '../../apps/engine.js';
import { publishersPlugin } from '../../apps/publishers/plugin.js';
import type { PublisherSettings } from '../../apps/publishers/plugin.js';
import { slackSignature } from '../../apps/publishers/slack.js';
import { mapWebhookPayload, webhookSignature } from '../../apps/publishers/webhook.js';
import { TOPICS } from '../../core/model.js';
import type { ConversationEvent, LogPosition } from '../../core/model.js';
import { scopeOf } from '../../core/scope.js';
import { openTestEngine, removeDir, tempDir } from '../helpers/engine.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'platforms');
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');
const SECRET = 'webhook-secret-for-tests';
/** The test's "now": 2024-05-01T10:05:00Z. */
const NOW = Date.UTC(2024, 4, 1, 10, 5, 0);
const nowSeconds = String(NOW / 1000);

function fakeService() {
  const calls: ConversationEvent[][] = [];
  let offset = 0;
  return {
    calls,
    published: (): ConversationEvent[] => calls.flat(),
    async publish(events: readonly ConversationEvent[]): Promise<LogPosition[]> {
      calls.push([...events]);
      return events.map(() => ({ topic: TOPICS.conversation, partition: 2, offset: offset++ }));
    },
  };
}

async function appWith(service: Pick<ReturnType<typeof fakeService>, 'publish'>, settings: Partial<PublisherSettings> = {}) {
  const app = Fastify();
  await app.register(publishersPlugin(service, { webhook: { secret: SECRET }, clock: { now: () => NOW }, ...settings }));
  await app.ready();
  return app;
}

function signed(body: string, opts: { timestamp?: string; secret?: string; contentType?: string } = {}) {
  const timestamp = opts.timestamp ?? nowSeconds;
  return {
    method: 'POST' as const,
    url: '/v1/hooks/webhook',
    payload: body,
    headers: {
      ...(opts.contentType === '' ? {} : { 'content-type': opts.contentType ?? 'application/json' }),
      'x-engram-timestamp': timestamp,
      'x-engram-signature': webhookSignature(opts.secret ?? SECRET, timestamp, body),
    },
  };
}

test('publishes signed conversation events; a redelivery publishes nothing new', async (t) => {
  const service = fakeService();
  const app = await appWith(service);
  const body = fixture('webhook-events.json');
  const res = await app.inject(signed(body));
  t.is(res.statusCode, 202);
  t.like(res.json(), { accepted: 2, duplicates: 0 });
  const [posted, edited] = service.published();
  t.like(posted, { eventId: 'crm-7f3a-0001', tenantId: 'acme', userId: 'dana', occurredAt: Date.UTC(2024, 4, 1, 10, 0, 0), payload: { type: 'MessagePosted', speaker: 'Dana' } });
  t.like(edited, { eventId: 'crm-7f3a-0002', occurredAt: 1714557660000, payload: { type: 'MessageEdited', messageId: 'support-4411-m1' } });

  const again = await app.inject(signed(body, { timestamp: String(NOW / 1000 + 30) }));
  t.is(again.statusCode, 202);
  t.like(again.json(), { accepted: 0, duplicates: 2 });
  // One new event alongside a known one: only the new one is published.
  const events = JSON.parse(body) as Record<string, unknown>[];
  const third = { ...events[0], eventId: 'crm-7f3a-0003', payload: { type: 'MessageRedacted', messageId: 'support-4411-m1', reason: null } };
  const mixed = await app.inject(signed(JSON.stringify({ events: [events[0], third] })));
  t.like(mixed.json(), { accepted: 1, duplicates: 1 });
  t.deepEqual(service.calls.map((c) => c.map((e) => e.eventId)), [['crm-7f3a-0001', 'crm-7f3a-0002'], ['crm-7f3a-0003']]);
  await app.close();
});

test('accepts a single event and a body sent without a content type (the signature is over the bytes)', async (t) => {
  const service = fakeService();
  const app = await appWith(service);
  const [first] = JSON.parse(fixture('webhook-events.json')) as unknown[];
  const res = await app.inject(signed(JSON.stringify(first), { contentType: '' }));
  t.is(res.statusCode, 202);
  const text = await app.inject(signed(JSON.stringify({ ...(first as object), eventId: 'crm-x' }), { contentType: 'text/plain' }));
  t.is(text.statusCode, 202);
  t.is(service.published().length, 2);
  await app.close();
});

test('wrong, missing and stale signatures are refused', async (t) => {
  const service = fakeService();
  const app = await appWith(service);
  const body = fixture('webhook-events.json');
  const bare = signed(body);
  const cases = [
    signed(body, { secret: 'guess' }),
    { ...bare, payload: body.replace('Porto', 'Braga') },
    signed(body, { timestamp: String(NOW / 1000 - 301) }),
    signed(body, { timestamp: 'soon' }),
    { ...bare, headers: { ...bare.headers, 'x-engram-signature': bare.headers['x-engram-signature'].replace('sha256=', '') } },
    { method: 'POST' as const, url: '/v1/hooks/webhook', payload: body, headers: { 'content-type': 'application/json' } },
  ];
  for (const c of cases) {
    const res = await app.inject(c);
    t.is(res.statusCode, 401);
    t.is(res.json<{ error: { code: string } }>().error.code, 'bad_signature');
  }
  t.is(service.calls.length, 0);
  await app.close();
});

test('events of another tenant than ENGRAM_WEBHOOK_TENANT are forbidden; nothing is published', async (t) => {
  const service = fakeService();
  const app = await appWith(service, { webhook: { secret: SECRET, tenantId: 'globex' } });
  const res = await app.inject(signed(fixture('webhook-events.json')));
  t.is(res.statusCode, 403);
  t.is(res.json<{ error: { code: string } }>().error.code, 'forbidden');
  t.is(service.calls.length, 0);
  await app.close();
});

test('malformed bodies are a 400 JSON error, all or nothing', async (t) => {
  const service = fakeService();
  const app = await appWith(service);
  const events = JSON.parse(fixture('webhook-events.json')) as Record<string, unknown>[];
  const bodies = ['{"eventId":', '[]', JSON.stringify([events[0], { ...events[1], userId: 'not a user id' }]), JSON.stringify({ events: 'none' })];
  for (const body of bodies) {
    const res = await app.inject(signed(body));
    t.is(res.statusCode, 400, body.slice(0, 40));
    const error = res.json<{ error: { code: string; message: string } }>().error;
    t.is(error.code, 'invalid_input');
  }
  const bad = await app.inject(signed(bodies[2] ?? ''));
  t.regex(bad.json<{ error: { message: string } }>().error.message, /\[1\] .*userId/);
  t.is(service.calls.length, 0);
  await app.close();
});

test('bodies above the limit are refused with 413', async (t) => {
  const service = fakeService();
  const app = await appWith(service, { bodyLimit: 1024 });
  const res = await app.inject(signed(JSON.stringify({ padding: 'x'.repeat(2048) })));
  t.is(res.statusCode, 413);
  t.is(res.json<{ error: { code: string } }>().error.code, 'too_large');
  t.is(service.calls.length, 0);
  await app.close();
});

test.serial('end to end: Slack and webhook deliveries reach a real engine and become memories', async (t) => {
  const dir = tempDir();
  let engine: Engine | undefined;
  try {
    engine = await openTestEngine(dir);
    let kicks = 0;
    const app = await appWith(engine, {
      slack: { signingSecret: 'slack-secret', tenantId: 'acme' },
      afterPublish: () => {
        kicks += 1;
      },
    });
    const slackBody = fixture('slack-message.json');
    const slack = await app.inject({
      method: 'POST',
      url: '/v1/hooks/slack',
      payload: slackBody,
      headers: { 'content-type': 'application/json', 'x-slack-request-timestamp': nowSeconds, 'x-slack-signature': slackSignature('slack-secret', nowSeconds, slackBody) },
    });
    t.is(slack.statusCode, 200);
    t.is((await app.inject(signed(fixture('webhook-events.json')))).statusCode, 202);
    t.is(kicks, 2);
    await engine.runUntilIdle();
    const slackHits = await engine.search(scopeOf('acme', 'slack-U0DANA42'), 'where did Dana move', { k: 3 });
    t.true(slackHits.some((h) => /Lisbon/.test(h.text)), JSON.stringify(slackHits.map((h) => h.text)));
    const webhookHits = await engine.search(scopeOf('acme', 'dana'), 'shipping address', { k: 3 });
    t.true(webhookHits.some((h) => /Porto/.test(h.text)), JSON.stringify(webhookHits.map((h) => h.text)));
    await app.close();
  } finally {
    await engine?.close();
    removeDir(dir);
  }
});

test('operator actions (review verdicts, rescans) cannot come through the webhook', (t) => {
  const review = {
    eventId: 'op-1',
    tenantId: 'acme',
    userId: 'ann',
    conversationId: 'c',
    sessionId: 's',
    occurredAt: 1_700_000_000_000,
    payload: { type: 'QuarantineReviewed', memoryId: 'm1', approve: true, reason: 'sneaky', reviewer: null },
  };
  t.throws(() => mapWebhookPayload(review, 'acme'), { message: /operator action/ });
});
