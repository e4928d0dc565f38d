import { createPrivateKey, createPublicKey, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import Fastify from 'fastify';
import { mapDiscordDispatches, mapDiscordInteraction, snowflakeMillis } from '../../apps/publishers/discord.js';
import { publishersPlugin } from '../../apps/publishers/plugin.js';
import type { PublisherSettings } from '../../apps/publishers/plugin.js';
import { webhookSignature } from '../../apps/publishers/webhook.js';
import { TOPICS } from '../../core/model.js';
import type { ConversationEvent, LogPosition } from '../../core/model.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'platforms');
const fixture = (name: string): string => readFileSync(join(FIXTURES, name), 'utf8');
/** The test's "now": 2024-05-01T10:05:00Z, a few minutes after the recorded interactions. */
const NOW = Date.UTC(2024, 4, 1, 10, 5, 0);
const nowSeconds = String(NOW / 1000);
const RELAY_SECRET = 'discord-relay-secret-for-tests';

/** A fixed Ed25519 key pair (PKCS#8 DER of a constant seed), so runs are reproducible. */
function keyPair(seedByte: number) {
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.alloc(32, seedByte)]);
  const privateKey = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  return { privateKey, publicHex: Buffer.from(String(jwk.x), 'base64url').toString('hex') };
}
const discordKeys = keyPair(7);
const otherKeys = keyPair(9);

function fakeService() {
  const calls: ConversationEvent[][] = [];
  let offset = 0;
  return {
    calls,
    published: (): ConversationEvent[] => calls.flat(),
    async publish(events: readonly ConversationEvent[]): Promise<LogPosition[]> {
      calls.push([...events]);
      return events.map(() => ({ topic: TOPICS.conversation, partition: 1, offset: offset++ }));
    },
  };
}

async function appWith(service: ReturnType<typeof fakeService>, discord: PublisherSettings['discord'] = { tenantId: 'acme', publicKey: discordKeys.publicHex, relaySecret: RELAY_SECRET }) {
  const app = Fastify();
  await app.register(publishersPlugin(service, { discord, clock: { now: () => NOW } }));
  await app.ready();
  return app;
}

function interaction(body: string, opts: { timestamp?: string; key?: ReturnType<typeof keyPair> } = {}) {
  const timestamp = opts.timestamp ?? nowSeconds;
  const signature = sign(null, Buffer.from(timestamp + body, 'utf8'), (opts.key ?? discordKeys).privateKey).toString('hex');
  return {
    method: 'POST' as const,
    url: '/v1/hooks/discord',
    payload: body,
    headers: { 'content-type': 'application/json', 'x-signature-ed25519': signature, 'x-signature-timestamp': timestamp },
  };
}

function relayed(body: string, secret = RELAY_SECRET) {
  return {
    method: 'POST' as const,
    url: '/v1/hooks/discord',
    payload: body,
    headers: { 'content-type': 'application/json', 'x-engram-timestamp': nowSeconds, 'x-engram-signature': webhookSignature(secret, nowSeconds, body) },
  };
}

test('answers PING with PONG and publishes nothing', async (t) => {
  const service = fakeService();
  const app = await appWith(service);
  const res = await app.inject(interaction(fixture('discord-ping.json')));
  t.is(res.statusCode, 200);
  t.deepEqual(res.json(), { type: 1 });
  t.is(service.calls.length, 0);
  await app.close();
});

test('refuses signatures by another key, over another body, stale or missing', async (t) => {
  const service = fakeService();
  const app = await appWith(service);
  const body = fixture('discord-slash-command.json');
  const byOther = await app.inject(interaction(body, { key: otherKeys }));
  const tampered = await app.inject({ ...interaction(body), payload: body.replace('September', 'October') });
  const stale = await app.inject(interaction(body, { timestamp: String(NOW / 1000 - 301) }));
  const noTimestamp = interaction(body);
  const missingTimestamp = await app.inject({ ...noTimestamp, headers: { 'content-type': 'application/json', 'x-signature-ed25519': noTimestamp.headers['x-signature-ed25519'] } });
  const unsigned = await app.inject({ method: 'POST', url: '/v1/hooks/discord', payload: body, headers: { 'content-type': 'application/json' } });
  const notHex = await app.inject({ ...noTimestamp, headers: { ...noTimestamp.headers, 'x-signature-ed25519': 'nothex' } });
  for (const res of [byOther, tampered, stale, missingTimestamp, unsigned, notHex]) {
    t.is(res.statusCode, 401);
    t.is(res.json<{ error: { code: string } }>().error.code, 'bad_signature');
  }
  t.is(service.calls.length, 0);
  await app.close();
});

test('a slash command posts its text as the invoking user; a replay is published once', async (t) => {
  const service = fakeService();
  const app = await appWith(service);
  const body = fixture('discord-slash-command.json');
  const res = await app.inject(interaction(body));
  t.is(res.statusCode, 200);
  t.deepEqual(res.json(), { type: 4, data: { content: 'Noted.', flags: 64 } });
  t.like(service.published()[0], {
    tenantId: 'acme',
    userId: 'discord-1000000000000000042',
    conversationId: 'discord:1100000000000000001:1200000000000000002',
    sessionId: 'discord:1200000000000000002:day:2024-05-01',
    occurredAt: Date.UTC(2024, 4, 1, 10, 1, 0),
    payload: { type: 'MessagePosted', messageId: 'discord:interaction:1235169092567040007', role: 'user', speaker: 'Dana C.', text: 'My daughter Ana starts school in September' },
  });
  const replay = await app.inject(interaction(body));
  t.is(replay.statusCode, 200);
  t.is(service.published().length, 1);
  await app.close();
});

test('a message command remembers the target message, with the same event id as the relayed message', async (t) => {
  const service = fakeService();
  const app = await appWith(service);
  const body = fixture('discord-message-command.json');
  const res = await app.inject(interaction(body));
  t.is(res.statusCode, 200);
  const [event] = service.published();
  t.like(event, {
    userId: 'discord-1000000000000000042',
    occurredAt: Date.parse('2024-05-01T10:00:00.123Z'),
    payload: {
      type: 'MessagePosted',
      messageId: 'discord:1200000000000000002:1235168840908800101',
      speaker: 'Dana',
      text: 'We bought a boat! Sailing every weekend from now on',
      attachmentCaptions: ['a small blue sailing boat in a marina'],
    },
  });
  const parsed = JSON.parse(body) as { data: { resolved: { messages: Record<string, Record<string, unknown>> } } };
  const target = parsed.data.resolved.messages['1235168840908800101'];
  const relay = mapDiscordDispatches([{ op: 0, t: 'MESSAGE_CREATE', d: { ...target, guild_id: '1100000000000000001' } }], 'acme', NOW);
  t.is(relay.events[0]?.eventId, event?.eventId);
  await app.close();
});

test('a feedback button gives feedback on its message and is acknowledged without a reply', async (t) => {
  const service = fakeService();
  const app = await appWith(service);
  const res = await app.inject(interaction(fixture('discord-feedback-button.json')));
  t.is(res.statusCode, 200);
  t.deepEqual(res.json(), { type: 6 });
  t.like(service.published()[0], {
    userId: 'discord-1000000000000000042',
    occurredAt: snowflakeMillis('1235169595883520011'),
    payload: { type: 'FeedbackGiven', rating: 'down', memoryId: null, messageId: 'discord:1200000000000000002:1235169344225280201', comment: null },
  });
  await app.close();
});

test('relayed gateway messages, edits and deletions map to conversation events; unroutable ones are skipped', async (t) => {
  const service = fakeService();
  const app = await appWith(service);
  const body = fixture('discord-gateway.json');
  const res = await app.inject(relayed(body));
  t.is(res.statusCode, 202);
  const reply = res.json<{ accepted: number; ignored: string[] }>();
  t.is(reply.accepted, 4);
  t.deepEqual(reply.ignored, ['a Discord MESSAGE_DELETE without author cannot be routed to a user', 'Discord dispatch TYPING_START is not mapped']);
  const [posted, bot, edited, deleted] = service.published();
  const messageId = 'discord:1200000000000000002:1235169092567040301';
  t.like(posted, { userId: 'discord-1000000000000000042', payload: { type: 'MessagePosted', messageId, role: 'user', speaker: 'Dana C.' } });
  t.like(bot, { userId: 'discord-1000000000000000042', payload: { type: 'MessagePosted', role: 'assistant', speaker: 'Engram' } });
  t.like(edited, {
    sessionId: posted?.sessionId,
    occurredAt: Date.UTC(2024, 4, 1, 10, 3, 0),
    payload: { type: 'MessageEdited', messageId, text: 'I switched teams, I now work on the fraud squad' },
  });
  t.like(deleted, { sessionId: posted?.sessionId, occurredAt: NOW, payload: { type: 'MessageRedacted', messageId, reason: 'deleted on Discord' } });

  // The relay resends (its own retry): nothing new is published.
  const again = await app.inject(relayed(body));
  t.like(again.json(), { accepted: 0, duplicates: 4 });
  t.is(service.calls.length, 1);
  await app.close();
});

test('relayed dispatches need the relay secret; interactions need the public key', async (t) => {
  const service = fakeService();
  const body = fixture('discord-gateway.json');
  const app = await appWith(service);
  const wrong = await app.inject(relayed(body, 'another-secret'));
  t.is(wrong.statusCode, 401);
  await app.close();

  const keyOnly = await appWith(service, { tenantId: 'acme', publicKey: discordKeys.publicHex });
  t.is((await keyOnly.inject(relayed(body))).statusCode, 401);
  await keyOnly.close();

  const relayOnly = await appWith(service, { tenantId: 'acme', relaySecret: RELAY_SECRET });
  t.is((await relayOnly.inject(interaction(fixture('discord-ping.json')))).statusCode, 401);
  t.is((await relayOnly.inject(relayed(body))).statusCode, 202);
  await relayOnly.close();
  t.is(service.calls.length, 1);
});

test('malformed interactions and dispatches are a 400 JSON error and nothing is published', async (t) => {
  const service = fakeService();
  const app = await appWith(service);
  const command = JSON.parse(fixture('discord-slash-command.json')) as Record<string, unknown>;
  const interactions = ['not json', JSON.stringify({ ...command, id: 'abc' }), JSON.stringify({ ...command, data: undefined }), JSON.stringify({ ...command, member: undefined })];
  for (const body of interactions) {
    const res = await app.inject(interaction(body));
    t.is(res.statusCode, 400, body.slice(0, 50));
    t.is(res.json<{ error: { code: string } }>().error.code, 'invalid_input');
  }
  const dispatches = ['[]', JSON.stringify([{ op: 0, t: 'MESSAGE_CREATE', d: { id: '1', channel_id: '2' } }]), JSON.stringify({ op: 10, d: {} })];
  for (const body of dispatches) {
    const res = await app.inject(relayed(body));
    t.is(res.statusCode, 400, body.slice(0, 50));
    t.is(res.json<{ error: { code: string } }>().error.code, 'invalid_input');
  }
  t.is(service.calls.length, 0);
  // Pure mapping: an unknown interaction type is skipped with a reply, not an error.
  t.deepEqual(mapDiscordInteraction({ ...command, type: 5 }, 'acme').events, []);
  await app.close();
});
