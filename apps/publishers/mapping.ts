/**
 * Helpers shared by the platform mappers: JSON bodies, platform payload checks, user ids, text
 * limits and day sessions. Pure.
 */
import type { z } from 'zod';
import { ValidationError } from '../../core/errors.js';
import type { ConversationEvent } from '../../core/model.js';
import { MAX_TEXT_BYTES } from '../../schemas/conversation-input.js';

/** What a mapper made of one verified delivery: the events to publish and why anything was skipped. */
export interface MappedDelivery {
  /** The platform's id of this delivery (retries repeat it), or null when it has none. */
  readonly deliveryId: string | null;
  readonly events: readonly ConversationEvent[];
  /** Why parts of the delivery were not mapped (unknown event types, messages without a user...). */
  readonly ignored: readonly string[];
}

/** Parses a raw request body as JSON; throws ValidationError when it is not. */
export function parseJsonBody(raw: string): unknown {
  if (raw.trim() === '') throw new ValidationError('the request body is empty: expected JSON');
  try {
    return JSON.parse(raw) as unknown;
  } catch (err) {
    throw new ValidationError(`the request body is not JSON: ${(err as Error).message}`);
  }
}

/** Checks a platform payload against a schema; throws ValidationError naming each bad field. */
export function parsePlatform<T extends z.ZodType>(schema: T, value: unknown, what: string): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
  const listed = issues.map((i) => `${i.path || '(body)'}: ${i.message}`).join('; ');
  throw new ValidationError(`malformed ${what}: ${listed}`, { fields: issues.map((i) => i.path), issues });
}

/** Engram user id of a platform user: `<platform>-<id>` (scope ids allow no ':'). */
export function platformUserId(platform: string, id: string): string {
  return `${platform}-${id}`;
}

/** The text cut to the longest prefix of at most MAX_TEXT_BYTES UTF-8 bytes (whole code points). */
export function clampText(text: string): string {
  if (Buffer.byteLength(text, 'utf8') <= MAX_TEXT_BYTES) return text;
  let bytes = 0;
  let out = '';
  for (const ch of text) {
    bytes += Buffer.byteLength(ch, 'utf8');
    if (bytes > MAX_TEXT_BYTES) break;
    out += ch;
  }
  return out;
}

/** The UTC calendar day of a time, `YYYY-MM-DD`: the session of messages outside a thread. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The first non-empty string among the candidates, else undefined. */
export function firstName(...candidates: readonly (string | null | undefined)[]): string | undefined {
  for (const c of candidates) if (typeof c === 'string' && c.trim() !== '') return c.trim().slice(0, 256);
  return undefined;
}
