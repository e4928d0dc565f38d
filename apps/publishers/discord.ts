/**
 * Discord, as a pure verifier and pure mappers. Interactions (slash commands, message commands,
 * buttons) are signed by Discord with Ed25519 over `timestamp + body` (`X-Signature-Ed25519`,
 * `X-Signature-Timestamp`) under the application's public key; a PING (type 1) is answered with a
 * PONG. Messages themselves only reach an app over the gateway, so a relay forwards gateway
 * dispatches (`{op: 0, t: "MESSAGE_CREATE" | "MESSAGE_UPDATE" | "MESSAGE_DELETE", d}`) signed like
 * the generic webhook (see `webhook.ts`) with the relay secret. Event ids derive from Discord's
 * channel and message snowflakes, so a message arriving by both routes is published once.
 */
import { z } from 'zod';
import { derivedEventIdOf } from '../../core/ids.js';
import type { ConversationEvent, MessageRole } from '../../core/model.js';
import { parseConversationEvent } from '../../schemas/conversation-input.js';
import { ValidationError } from '../../core/errors.js';
import { SignatureError } from './errors.js';
import { clampText, firstName, parsePlatform, platformUserId, utcDay } from './mapping.js';
import type { MappedDelivery } from './mapping.js';
import { assertFresh, ed25519PublicKey, verifyEd25519 } from './signature.js';
import type { KeyObject } from 'node:crypto';

/** The two signature headers of a Discord interaction request (absent ones undefined). */
export interface DiscordHeaders {
  readonly signature: string | undefined;
  readonly timestamp: string | undefined;
}

/** Interaction types (Discord's numbering). */
export const INTERACTION = { ping: 1, applicationCommand: 2, messageComponent: 3, autocomplete: 4, modalSubmit: 5 } as const;
/** Interaction response types used here. */
export const RESPONSE = { pong: 1, channelMessage: 4, deferredUpdateMessage: 6, autocompleteResult: 8 } as const;
/** Message flag: only the invoking user sees the reply. */
const EPHEMERAL = 1 << 6;
/** Discord's epoch (2015-01-01T00:00:00Z): snowflakes count milliseconds from it. */
const DISCORD_EPOCH_MS = 1_420_070_400_000;

/** The JSON an interaction request is answered with. */
export type InteractionResponse =
  | { readonly type: typeof RESPONSE.pong }
  | { readonly type: typeof RESPONSE.channelMessage; readonly data: { readonly content: string; readonly flags: number } }
  | { readonly type: typeof RESPONSE.deferredUpdateMessage }
  | { readonly type: typeof RESPONSE.autocompleteResult; readonly data: { readonly choices: readonly never[] } };

/** A verified interaction: the events to publish and the answer Discord expects. */
export type DiscordInteraction = MappedDelivery & { readonly response: InteractionResponse };

/**
 * Throws SignatureError unless the request is signed with the application's key (hex, or a key
 * object from `ed25519PublicKey`) and its timestamp is within the replay window of `nowMs`.
 */
export function verifyDiscordRequest(publicKey: string | KeyObject, headers: DiscordHeaders, rawBody: string, nowMs: number): void {
  assertFresh(headers.timestamp, nowMs);
  if (headers.signature === undefined || headers.signature === '') throw new SignatureError('missing X-Signature-Ed25519');
  const key = typeof publicKey === 'string' ? ed25519PublicKey(publicKey) : publicKey;
  if (!verifyEd25519(key, `${headers.timestamp ?? ''}${rawBody}`, headers.signature)) {
    throw new SignatureError('X-Signature-Ed25519 does not match the request');
  }
}

/** Milliseconds since the epoch at which a snowflake was made. */
export function snowflakeMillis(id: string): number {
  return Number((BigInt(id) >> 22n) + BigInt(DISCORD_EPOCH_MS));
}

// ------------------------------------------------------------------ payload shapes (what we read)

const snowflake = z.string().regex(/^\d{1,20}$/, 'expected a Discord snowflake id');
const isoTime = z.iso.datetime({ offset: true });

const User = z.looseObject({
  id: snowflake,
  username: z.string().optional(),
  global_name: z.string().nullable().optional(),
  bot: z.boolean().optional(),
});
type DiscordUser = z.output<typeof User>;
const Member = z.looseObject({ user: User.optional(), nick: z.string().nullable().optional() });

const Message = z.looseObject({
  id: snowflake,
  channel_id: snowflake,
  guild_id: snowflake.optional(),
  type: z.number().int().optional(),
  author: User,
  member: Member.optional(),
  content: z.string().optional(),
  timestamp: isoTime,
  edited_timestamp: isoTime.nullable().optional(),
  webhook_id: snowflake.optional(),
  referenced_message: z.looseObject({ author: User }).nullable().optional(),
  attachments: z.array(z.looseObject({ description: z.string().optional() })).optional(),
});
type DiscordMessage = z.output<typeof Message>;
/** MESSAGE_UPDATE may be partial (older gateways sent only changed fields). */
const Update = Message.extend({ author: User.optional(), timestamp: isoTime.optional() });

const Interaction = z.looseObject({
  id: snowflake,
  application_id: snowflake,
  type: z.number().int(),
  guild_id: snowflake.optional(),
  channel_id: snowflake.optional(),
  channel: z.looseObject({ id: snowflake }).optional(),
  member: Member.optional(),
  user: User.optional(),
  data: z.looseObject({}).optional(),
  message: Message.optional(),
});
type DiscordInteractionPayload = z.output<typeof Interaction>;

const CommandData = z.looseObject({
  name: z.string().min(1),
  type: z.number().int().optional(),
  target_id: snowflake.optional(),
  options: z.array(z.looseObject({ name: z.string(), type: z.number().int(), value: z.unknown().optional() })).optional(),
  resolved: z.looseObject({ messages: z.record(z.string(), z.unknown()).optional() }).optional(),
});
const ComponentData = z.looseObject({ custom_id: z.string().min(1).max(100) });

const Dispatch = z.looseObject({ op: z.literal(0), t: z.string().min(1), d: z.looseObject({}) });
const Deletion = z.looseObject({ id: snowflake, channel_id: snowflake, guild_id: snowflake.optional(), author: User.optional() });
/** Message types that are someone saying something: DEFAULT and REPLY (others are joins, pins...). */
const SPOKEN_TYPES: ReadonlySet<number> = new Set([0, 19]);
/** Custom id of the feedback buttons Engram's bots attach to assistant messages. */
const FEEDBACK_ID = /^engram:feedback:(up|down)$/;
/** Application command option type STRING. */
const STRING_OPTION = 3;
/** Application command types: CHAT_INPUT (slash) and MESSAGE (context menu on a message). */
const CHAT_INPUT = 1;
const MESSAGE_COMMAND = 3;
/** Most gateway dispatches accepted in one relay request. */
export const MAX_DISPATCHES = 1000;

// ------------------------------------------------------------------ interactions

/**
 * Maps a verified interaction to events and a response; throws ValidationError when malformed.
 * Slash commands post their string options as the user's message; message commands post the
 * target message; `engram:feedback:up|down` buttons give feedback on the message they sit on.
 */
export function mapDiscordInteraction(body: unknown, tenantId: string): DiscordInteraction {
  const i = parsePlatform(Interaction, body, 'Discord interaction');
  const reply = (content: string): InteractionResponse => ({ type: RESPONSE.channelMessage, data: { content, flags: EPHEMERAL } });
  const result = (mapped: ConversationEvent | string, response: InteractionResponse): DiscordInteraction => ({
    deliveryId: `discord-interaction:${i.id}`,
    events: typeof mapped === 'string' ? [] : [mapped],
    ignored: typeof mapped === 'string' ? [mapped] : [],
    response,
  });
  switch (i.type) {
    case INTERACTION.ping:
      return { deliveryId: null, events: [], ignored: [], response: { type: RESPONSE.pong } };
    case INTERACTION.applicationCommand: {
      const mapped = mapCommand(i, tenantId);
      return result(mapped, reply(typeof mapped === 'string' ? 'Nothing to remember there.' : 'Noted.'));
    }
    case INTERACTION.messageComponent:
      return result(mapComponent(i, tenantId), { type: RESPONSE.deferredUpdateMessage });
    case INTERACTION.autocomplete:
      return result('Discord autocomplete is not mapped', { type: RESPONSE.autocompleteResult, data: { choices: [] } });
    default:
      return result(`Discord interaction type ${i.type} is not mapped`, reply('Nothing to remember there.'));
  }
}

function invokerOf(i: DiscordInteractionPayload): { user: DiscordUser; nick: string | null | undefined } {
  const user = i.member?.user ?? i.user;
  if (user === undefined) throw new ValidationError('malformed Discord interaction: member.user or user is required');
  return { user, nick: i.member?.nick };
}

function mapCommand(i: DiscordInteractionPayload, tenantId: string): ConversationEvent | string {
  const data = parsePlatform(CommandData, i.data, 'Discord application command data');
  const invoker = invokerOf(i);
  if ((data.type ?? CHAT_INPUT) === MESSAGE_COMMAND) {
    const target = data.target_id === undefined ? undefined : data.resolved?.messages?.[data.target_id];
    if (target === undefined) throw new ValidationError('malformed Discord message command: data.resolved.messages[target_id] is required');
    return mapMessage(parsePlatform(Message, target, 'Discord message'), tenantId, invoker.user);
  }
  if ((data.type ?? CHAT_INPUT) !== CHAT_INPUT) return `Discord command type ${data.type} is not mapped`;
  const text = clampText(
    (data.options ?? [])
      .filter((o) => o.type === STRING_OPTION && typeof o.value === 'string')
      .map((o) => String(o.value).trim())
      .filter((v) => v !== '')
      .join('\n'),
  );
  if (text === '') return `the Discord command /${data.name} has no text`;
  const channel = i.channel?.id ?? i.channel_id;
  if (channel === undefined) throw new ValidationError('malformed Discord interaction: channel_id is required');
  const occurredAt = snowflakeMillis(i.id);
  return parseConversationEvent({
    ...coordinates(tenantId, i.guild_id, channel, invoker.user.id, occurredAt),
    eventId: derivedEventIdOf('discord', 'interaction', i.id),
    occurredAt,
    payload: {
      type: 'MessagePosted',
      messageId: `discord:interaction:${i.id}`,
      role: 'user',
      ...speakerOf(invoker.user, invoker.nick),
      text,
    },
  });
}

function mapComponent(i: DiscordInteractionPayload, tenantId: string): ConversationEvent | string {
  const data = parsePlatform(ComponentData, i.data, 'Discord component data');
  const rating = FEEDBACK_ID.exec(data.custom_id)?.[1];
  if (rating === undefined) return `Discord component ${data.custom_id} is not mapped`;
  if (i.message === undefined) throw new ValidationError('malformed Discord component interaction: message is required');
  const invoker = invokerOf(i);
  const occurredAt = snowflakeMillis(i.id);
  return parseConversationEvent({
    ...coordinates(tenantId, i.guild_id ?? i.message.guild_id, i.message.channel_id, invoker.user.id, occurredAt),
    eventId: derivedEventIdOf('discord', 'interaction', i.id),
    occurredAt,
    payload: {
      type: 'FeedbackGiven',
      memoryId: null,
      messageId: messageIdOf(i.message.channel_id, i.message.id),
      rating,
      comment: null,
    },
  });
}

// ------------------------------------------------------------------ gateway dispatches (relay)

/**
 * Maps gateway dispatches forwarded by a relay (one, or an array) to events; throws
 * ValidationError when malformed. `receivedAt` dates deletions, which Discord does not date.
 * MESSAGE_DELETE carries no author: relays that cache messages add `d.author` (an extension);
 * without it the deletion cannot be routed to a user and is skipped.
 */
export function mapDiscordDispatches(body: unknown, tenantId: string, receivedAt: number): MappedDelivery {
  const items = Array.isArray(body) ? body : [body];
  if (items.length === 0 || items.length > MAX_DISPATCHES) {
    throw new ValidationError(`send one gateway dispatch or an array of 1 to ${MAX_DISPATCHES}`);
  }
  const events: ConversationEvent[] = [];
  const ignored: string[] = [];
  items.forEach((item, index) => {
    const dispatch = parsePlatform(Dispatch, item, `Discord gateway dispatch [${index}]`);
    const mapped = mapDispatch(dispatch.t, dispatch.d, tenantId, receivedAt);
    if (typeof mapped === 'string') ignored.push(mapped);
    else events.push(mapped);
  });
  return { deliveryId: null, events, ignored };
}

function mapDispatch(t: string, d: unknown, tenantId: string, receivedAt: number): ConversationEvent | string {
  switch (t) {
    case 'MESSAGE_CREATE':
      return mapMessage(parsePlatform(Message, d, 'Discord MESSAGE_CREATE'), tenantId, undefined);
    case 'MESSAGE_UPDATE':
      return mapUpdate(parsePlatform(Update, d, 'Discord MESSAGE_UPDATE'), tenantId);
    case 'MESSAGE_DELETE':
      return mapDelete(parsePlatform(Deletion, d, 'Discord MESSAGE_DELETE'), tenantId, receivedAt);
    default:
      return `Discord dispatch ${t} is not mapped`;
  }
}

/** A posted message; `fallback` is whose memory a bot message is for when it replies to nobody. */
function mapMessage(m: DiscordMessage, tenantId: string, fallback: DiscordUser | undefined): ConversationEvent | string {
  if (m.type !== undefined && !SPOKEN_TYPES.has(m.type)) return `Discord message type ${m.type} is not mapped`;
  const author = authorOf(m, fallback);
  if (typeof author === 'string') return author;
  const text = clampText((m.content ?? '').trim());
  const captions = (m.attachments ?? []).map((a) => clampText((a.description ?? '').trim())).filter((c) => c !== '');
  if (text === '' && captions.length === 0) return 'a Discord message without content (is the message content intent on?)';
  const occurredAt = Date.parse(m.timestamp);
  return parseConversationEvent({
    ...coordinates(tenantId, m.guild_id, m.channel_id, author.subject, snowflakeMillis(m.id)),
    eventId: derivedEventIdOf('discord', m.channel_id, m.id, 'posted'),
    occurredAt,
    payload: {
      type: 'MessagePosted',
      messageId: messageIdOf(m.channel_id, m.id),
      role: author.role,
      ...speakerOf(m.author, m.member?.nick),
      text,
      attachmentCaptions: captions,
    },
  });
}

function mapUpdate(u: z.output<typeof Update>, tenantId: string): ConversationEvent | string {
  // Embeds being resolved also send MESSAGE_UPDATE; only an edit sets edited_timestamp.
  if (u.edited_timestamp === undefined || u.edited_timestamp === null) return 'a Discord MESSAGE_UPDATE that is not an edit';
  if (u.author === undefined) return 'a partial Discord MESSAGE_UPDATE without author';
  const m: DiscordMessage = { ...u, author: u.author, timestamp: u.timestamp ?? new Date(snowflakeMillis(u.id)).toISOString() };
  const author = authorOf(m, undefined);
  if (typeof author === 'string') return author;
  const text = clampText((m.content ?? '').trim());
  if (text === '') return 'a Discord edit without content';
  const occurredAt = Date.parse(u.edited_timestamp);
  return parseConversationEvent({
    ...coordinates(tenantId, m.guild_id, m.channel_id, author.subject, snowflakeMillis(m.id)),
    eventId: derivedEventIdOf('discord', m.channel_id, m.id, 'edited', u.edited_timestamp),
    occurredAt,
    payload: { type: 'MessageEdited', messageId: messageIdOf(m.channel_id, m.id), text },
  });
}

function mapDelete(d: z.output<typeof Deletion>, tenantId: string, receivedAt: number): ConversationEvent | string {
  if (d.author === undefined) return 'a Discord MESSAGE_DELETE without author cannot be routed to a user';
  if (d.author.bot === true) return 'a Discord MESSAGE_DELETE of a bot message is not mapped';
  return parseConversationEvent({
    ...coordinates(tenantId, d.guild_id, d.channel_id, d.author.id, snowflakeMillis(d.id)),
    eventId: derivedEventIdOf('discord', d.channel_id, d.id, 'deleted'),
    occurredAt: receivedAt,
    payload: { type: 'MessageRedacted', messageId: messageIdOf(d.channel_id, d.id), reason: 'deleted on Discord' },
  });
}

/**
 * Whose memory a message belongs to. A bot's (or webhook's) message belongs to the person it
 * replies to, else to `fallback` (who asked to remember it); with neither it is skipped.
 */
function authorOf(m: DiscordMessage, fallback: DiscordUser | undefined): { subject: string; role: MessageRole } | string {
  if (m.author.bot === true || m.webhook_id !== undefined) {
    const replyTo = m.referenced_message?.author;
    const subject = replyTo !== undefined && replyTo.bot !== true ? replyTo.id : fallback?.id;
    if (subject === undefined) return 'a Discord bot message that replies to no one has no user to remember it for';
    return { subject, role: 'assistant' };
  }
  return { subject: m.author.id, role: 'user' };
}

function speakerOf(user: DiscordUser, nick: string | null | undefined): { speaker?: string } {
  const name = firstName(nick, user.global_name, user.username);
  return name === undefined ? {} : { speaker: name };
}

/** Tenant, user, conversation (guild and channel; threads are channels) and session (the channel's UTC day). */
function coordinates(tenantId: string, guild: string | undefined, channel: string, subject: string, dayOf: number) {
  return {
    tenantId,
    userId: platformUserId('discord', subject),
    conversationId: `discord:${guild ?? 'dm'}:${channel}`,
    sessionId: `discord:${channel}:day:${utcDay(dayOf)}`,
  };
}

/** Engram message id of a Discord message. */
function messageIdOf(channel: string, id: string): string {
  return `discord:${channel}:${id}`;
}
