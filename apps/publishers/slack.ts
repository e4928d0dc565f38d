/**
 * The Slack Events API, as a pure verifier and a pure mapper. Requests are signed with
 * `X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:{timestamp}:{body}">` and
 * `X-Slack-Request-Timestamp`, accepted within the replay window. Deliveries are the
 * `url_verification` challenge and `event_callback` envelopes; of their inner events, `message`
 * events map to conversation events: posts (people's and bots'), `message_changed` (an edit) and
 * `message_deleted` (a redaction), and `app_mention` (the same message again). Event ids derive from Slack's team, channel and message `ts`, so
 * a retried delivery maps to the same ids.
 */
import { z } from 'zod';
import { derivedEventIdOf } from '../../core/ids.js';
import type { ConversationEvent, MessageRole } from '../../core/model.js';
import { parseConversationEvent } from '../../schemas/conversation-input.js';
import { SignatureError } from './errors.js';
import { clampText, firstName, parsePlatform, platformUserId, utcDay } from './mapping.js';
import type { MappedDelivery } from './mapping.js';
import { assertFresh, hmacSha256Hex, safeEqual } from './signature.js';

/** The two signature headers of a Slack request (absent ones undefined). */
export interface SlackHeaders {
  readonly signature: string | undefined;
  readonly timestamp: string | undefined;
}

/** What a verified Slack request asks for: answer the challenge, or publish the mapped events. */
export type SlackDelivery =
  | { readonly kind: 'challenge'; readonly challenge: string }
  | ({ readonly kind: 'events' } & MappedDelivery);

/** The `X-Slack-Signature` value Slack sends for a body at a timestamp (Unix seconds). */
export function slackSignature(signingSecret: string, timestamp: string, rawBody: string): string {
  return `v0=${hmacSha256Hex(signingSecret, `v0:${timestamp}:${rawBody}`)}`;
}

/** Throws SignatureError unless the request is signed with the secret and fresh at `nowMs`. */
export function verifySlackRequest(signingSecret: string, headers: SlackHeaders, rawBody: string, nowMs: number): void {
  assertFresh(headers.timestamp, nowMs);
  if (headers.signature === undefined || headers.signature === '') throw new SignatureError('missing X-Slack-Signature');
  const expected = slackSignature(signingSecret, headers.timestamp ?? '', rawBody);
  if (!safeEqual(headers.signature, expected)) throw new SignatureError('X-Slack-Signature does not match the request');
}

// ------------------------------------------------------------------ payload shapes (what we read)

const ts = z.string().regex(/^\d{1,12}\.\d{1,6}$/, 'expected a Slack timestamp such as "1714557600.000100"');
// Slack ids (T…, C…, U…, B…) are upper-case alphanumerics; these characters keep user ids valid scope ids.
const slackId = z.string().regex(/^[A-Za-z0-9_-]{1,58}$/, 'expected a Slack id');

const Message = z.looseObject({
  subtype: z.string().optional(),
  user: slackId.optional(),
  bot_id: slackId.optional(),
  username: z.string().optional(),
  bot_profile: z.looseObject({ name: z.string().optional() }).optional(),
  user_profile: z
    .looseObject({ display_name: z.string().optional(), real_name: z.string().optional(), name: z.string().optional() })
    .optional(),
  text: z.string().optional(),
  ts,
  thread_ts: ts.optional(),
  parent_user_id: slackId.optional(),
  edited: z.looseObject({ ts }).optional(),
});
type SlackMessage = z.output<typeof Message>;

const Head = z.looseObject({ type: z.string().min(1) });
const Challenge = z.looseObject({ type: z.literal('url_verification'), challenge: z.string().min(1).max(1024) });
const Callback = z.looseObject({
  type: z.literal('event_callback'),
  team_id: slackId,
  event_id: z.string().min(1).max(128),
  event: z.looseObject({ type: z.string().min(1) }),
});
const MessageEventHead = z.looseObject({ type: z.literal('message'), subtype: z.string().optional(), channel: slackId });
const Posted = Message.extend({ channel: slackId });
const Changed = z.looseObject({
  channel: slackId,
  event_ts: ts.optional(),
  ts: ts.optional(),
  message: Message,
  previous_message: Message.optional(),
});
const Deleted = z.looseObject({
  channel: slackId,
  event_ts: ts.optional(),
  ts: ts.optional(),
  deleted_ts: ts,
  previous_message: Message.optional(),
});

/** Message subtypes that are someone saying something (others are joins, topics, pins...). */
const POSTED_SUBTYPES: ReadonlySet<string> = new Set(['bot_message', 'thread_broadcast', 'file_share', 'me_message']);

// ------------------------------------------------------------------ mapping

/**
 * Maps a verified Slack request body to a delivery; throws ValidationError when it is malformed.
 * Events Engram does not map (other event types and subtypes) come back in `ignored`.
 */
export function mapSlackPayload(body: unknown, tenantId: string): SlackDelivery {
  const head = parsePlatform(Head, body, 'Slack request');
  if (head.type === 'url_verification') {
    return { kind: 'challenge', challenge: parsePlatform(Challenge, body, 'Slack url_verification').challenge };
  }
  if (head.type !== 'event_callback') {
    return { kind: 'events', deliveryId: null, events: [], ignored: [`Slack request type ${head.type} is not mapped`] };
  }
  const callback = parsePlatform(Callback, body, 'Slack event_callback');
  const done = (mapped: ConversationEvent | string): SlackDelivery => ({
    kind: 'events',
    deliveryId: callback.event_id,
    events: typeof mapped === 'string' ? [] : [mapped],
    ignored: typeof mapped === 'string' ? [mapped] : [],
  });
  const ctx: Context = { tenantId, team: callback.team_id };
  // An app_mention is the same message as its `message` event: same id, so it is published once.
  if (callback.event.type === 'app_mention') return done(mapPosted(parsePlatform(Posted, callback.event, 'Slack app_mention event'), ctx));
  if (callback.event.type !== 'message') return done(`Slack event type ${callback.event.type} is not mapped`);
  const event = parsePlatform(MessageEventHead, callback.event, 'Slack message event');
  if (event.subtype === 'message_changed') return done(mapChanged(parsePlatform(Changed, event, 'Slack message_changed event'), ctx));
  if (event.subtype === 'message_deleted') return done(mapDeleted(parsePlatform(Deleted, event, 'Slack message_deleted event'), ctx));
  if (event.subtype !== undefined && !POSTED_SUBTYPES.has(event.subtype)) return done(`Slack message subtype ${event.subtype} is not mapped`);
  return done(mapPosted(parsePlatform(Posted, event, 'Slack message event'), ctx));
}

interface Context {
  readonly tenantId: string;
  readonly team: string;
}

interface Author {
  /** The Slack user whose memory this belongs to. */
  readonly subject: string;
  readonly role: MessageRole;
  readonly speaker: string | undefined;
}

/**
 * Whose memory a message belongs to and who spoke. A bot's message belongs to the person whose
 * thread it replies to; outside a thread there is no such person and it is skipped (a string).
 */
function authorOf(m: SlackMessage): Author | string {
  if (m.bot_id !== undefined || m.subtype === 'bot_message') {
    if (m.parent_user_id === undefined) return 'a Slack bot message outside a thread has no user to remember it for';
    return { subject: m.parent_user_id, role: 'assistant', speaker: firstName(m.username, m.bot_profile?.name, m.bot_id) };
  }
  if (m.user === undefined) return 'a Slack message without a user';
  const p = m.user_profile;
  return { subject: m.user, role: 'user', speaker: firstName(p?.display_name, p?.real_name, p?.name) };
}

function mapPosted(m: z.output<typeof Posted>, ctx: Context): ConversationEvent | string {
  const author = authorOf(m);
  if (typeof author === 'string') return author;
  const text = slackText(m.text);
  if (text === '') return 'a Slack message without text';
  return parseConversationEvent({
    ...coordinates(ctx, m.channel, m, author),
    eventId: derivedEventIdOf('slack', ctx.team, m.channel, m.ts, 'posted'),
    occurredAt: tsMillis(m.ts),
    payload: {
      type: 'MessagePosted',
      messageId: messageIdOf(m.channel, m.ts),
      role: author.role,
      ...(author.speaker === undefined ? {} : { speaker: author.speaker }),
      text,
    },
  });
}

function mapChanged(e: z.output<typeof Changed>, ctx: Context): ConversationEvent | string {
  const m = e.message;
  // Slack also sends message_changed for link unfurls and attachments: only text edits count.
  if (e.previous_message?.text !== undefined && e.previous_message.text === m.text) return 'a Slack message_changed without a text change';
  const author = authorOf(m);
  if (typeof author === 'string') return author;
  const text = slackText(m.text);
  if (text === '') return 'a Slack edit without text';
  const editTs = m.edited?.ts ?? e.event_ts ?? e.ts ?? m.ts;
  return parseConversationEvent({
    ...coordinates(ctx, e.channel, m, author),
    eventId: derivedEventIdOf('slack', ctx.team, e.channel, m.ts, 'edited', editTs),
    occurredAt: tsMillis(editTs),
    payload: { type: 'MessageEdited', messageId: messageIdOf(e.channel, m.ts), text },
  });
}

function mapDeleted(e: z.output<typeof Deleted>, ctx: Context): ConversationEvent | string {
  const previous = e.previous_message;
  if (previous === undefined) return 'a Slack message_deleted without previous_message has no user';
  const author = authorOf(previous);
  if (typeof author === 'string') return author;
  return parseConversationEvent({
    ...coordinates(ctx, e.channel, previous, author),
    eventId: derivedEventIdOf('slack', ctx.team, e.channel, e.deleted_ts, 'deleted'),
    occurredAt: tsMillis(e.event_ts ?? e.ts ?? e.deleted_ts),
    payload: { type: 'MessageRedacted', messageId: messageIdOf(e.channel, e.deleted_ts), reason: 'deleted on Slack' },
  });
}

/** Tenant, user, conversation (the channel) and session (the thread, else the channel's UTC day). */
function coordinates(ctx: Context, channel: string, m: SlackMessage, author: Author) {
  // A thread's replies carry thread_ts ≠ ts; its parent (thread_ts = ts, or none) stays in its day.
  const inThread = m.thread_ts !== undefined && m.thread_ts !== m.ts;
  return {
    tenantId: ctx.tenantId,
    userId: platformUserId('slack', author.subject),
    conversationId: `slack:${ctx.team}:${channel}`,
    sessionId: inThread ? `slack:${channel}:thread:${m.thread_ts}` : `slack:${channel}:day:${utcDay(tsMillis(m.ts))}`,
  };
}

/** Engram message id of a Slack message: `ts` is unique within a channel. */
function messageIdOf(channel: string, ts: string): string {
  return `slack:${channel}:${ts}`;
}

/** Milliseconds of a Slack `ts` ("seconds.microseconds"). */
export function tsMillis(ts: string): number {
  const [seconds = '0', fraction = ''] = ts.split('.');
  return Number(seconds) * 1000 + Math.floor(Number(fraction.padEnd(6, '0').slice(0, 6)) / 1000);
}

/** Slack's message text with its three HTML escapes undone, within the text limit. */
function slackText(text: string | undefined): string {
  const plain = (text ?? '').replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');
  return clampText(plain.trim());
}
