/**
 * The generic signed webhook, as a pure verifier and a pure mapper. A producer signs
 * `{timestamp}.{body}` with HMAC-SHA256 under the shared secret and sends
 * `X-Engram-Signature: sha256=<hex>` and `X-Engram-Timestamp: <Unix seconds>`; the body is
 * conversation events in their published JSON form: one, an array, or `{"events": [...]}`.
 * Their event ids are the producer's, so a redelivery is deduplicated like any publish.
 */
import { ValidationError } from '../../core/errors.js';
import type { ConversationEvent } from '../../core/model.js';
import { parseConversationEvent } from '../../schemas/conversation-input.js';
import { ForbiddenError, SignatureError } from './errors.js';
import { assertFresh, hmacSha256Hex, safeEqual } from './signature.js';

/** The two signature headers of a webhook request (absent ones undefined). */
export interface WebhookHeaders {
  readonly signature: string | undefined;
  readonly timestamp: string | undefined;
}

/** Most events accepted in one request (as `POST /v1/events`). */
export const MAX_WEBHOOK_EVENTS = 1000;

/** The `X-Engram-Signature` value for a body at a timestamp (Unix seconds): what producers send. */
export function webhookSignature(secret: string, timestamp: string, rawBody: string): string {
  return `sha256=${hmacSha256Hex(secret, `${timestamp}.${rawBody}`)}`;
}

/** Throws SignatureError unless the request is signed with the secret and fresh at `nowMs`. */
export function verifyWebhookRequest(secret: string, headers: WebhookHeaders, rawBody: string, nowMs: number): void {
  assertFresh(headers.timestamp, nowMs);
  if (headers.signature === undefined || headers.signature === '') throw new SignatureError('missing X-Engram-Signature');
  if (!safeEqual(headers.signature, webhookSignature(secret, headers.timestamp ?? '', rawBody))) {
    throw new SignatureError('X-Engram-Signature does not match the request');
  }
}

/** Conversation event types only operators may publish. */
export const OPERATOR_EVENT_TYPES = ['QuarantineReviewed', 'GuardRescanRequested'] as const;

/**
 * Parses a verified webhook body into conversation events, all or nothing: throws ValidationError
 * listing each bad event, or ForbiddenError when `tenantId` is set and an event names another.
 */
export function mapWebhookPayload(body: unknown, tenantId: string | undefined): ConversationEvent[] {
  const items = Array.isArray(body)
    ? body
    : body !== null && typeof body === 'object' && 'events' in body
      ? (body as { events: unknown }).events
      : [body];
  if (!Array.isArray(items) || items.length === 0 || items.length > MAX_WEBHOOK_EVENTS) {
    throw new ValidationError(`send one event, an array, or {"events": [...]} of 1 to ${MAX_WEBHOOK_EVENTS} events`);
  }
  const errors: { index: number; message: string }[] = [];
  const events = items.flatMap((item: unknown, index) => {
    try {
      const event = parseConversationEvent(item);
      // Review verdicts and rescans are operator actions (admin API, CLI), never a platform's.
      if ((OPERATOR_EVENT_TYPES as readonly string[]).includes(event.payload.type)) {
        throw new ValidationError(`payload type ${event.payload.type} is an operator action and cannot come through a webhook`);
      }
      return [event];
    } catch (err) {
      errors.push({ index, message: (err as Error).message });
      return [];
    }
  });
  if (errors.length > 0) {
    const listed = errors.map((e) => `[${e.index}] ${e.message}`).join('; ');
    throw new ValidationError(`${errors.length} invalid event(s): ${listed}`, { events: errors });
  }
  if (tenantId !== undefined) {
    const foreign = events.filter((e) => e.tenantId !== tenantId).map((e) => e.eventId);
    if (foreign.length > 0) {
      throw new ForbiddenError(`this webhook publishes for tenant ${tenantId} only; ${foreign.length} event(s) name another`, { eventIds: foreign });
    }
  }
  return events;
}
