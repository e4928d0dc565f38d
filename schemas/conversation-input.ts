/**
 * The JSON form of a conversation event as a user publishes it (JSONL lines, HTTP bodies): the
 * domain shape with conveniences (ISO-8601 or epoch-ms `occurredAt`, default role, speaker,
 * captions and nulls). The same rules check events decoded from the wire.
 */
import { z } from 'zod';
import { ValidationError } from '../core/errors.js';
import { MESSAGE_ROLES } from '../core/model.js';
import type { ConversationEvent } from '../core/model.js';
import { SCOPE_ID } from '../core/scope.js';

/** Longest id (event, conversation, session, message, memory, target), in characters. */
export const MAX_ID_LENGTH = 256;
/** Longest text (message text, caption, comment, reason), in UTF-8 bytes. */
export const MAX_TEXT_BYTES = 32 * 1024;
/** Latest representable JS date, in ms. */
const MAX_EPOCH_MS = 8_640_000_000_000_000;

const id = z.string().min(1, 'must not be empty').max(MAX_ID_LENGTH, `must be at most ${MAX_ID_LENGTH} characters`);
const scopeId = z.string().regex(SCOPE_ID, "must be 1-64 characters from A-Z, a-z, 0-9, '_' and '-'");
const text = z
  .string()
  .refine((s) => Buffer.byteLength(s, 'utf8') <= MAX_TEXT_BYTES, `must be at most ${MAX_TEXT_BYTES} bytes (UTF-8)`);
const epochMs = z.number().int('must be whole milliseconds').min(0, 'must not be before 1970').max(MAX_EPOCH_MS, 'is too far in the future');
const isoDate = z.iso.datetime({ offset: true }).transform((s) => Date.parse(s));
const occurredAtInput = z.union([epochMs, isoDate], {
  error: 'must be an ISO-8601 date-time with a zone (e.g. 2024-05-01T12:00:00Z) or whole epoch milliseconds',
});

/** The event schema; `input` adds the conveniences of the published JSON form. */
function eventSchema(input: boolean) {
  // With `input`, an absent field takes its default; without, every field must be there.
  const orDefault = <T extends z.ZodType>(schema: T, value: z.output<T>) =>
    input ? schema.optional().transform((v) => (v === undefined ? value : v)) : schema;
  const nullableId = orDefault(id.nullable(), null);
  const nullableText = orDefault(text.nullable(), null);

  const payload = z.discriminatedUnion('type', [
    z.strictObject({
      type: z.literal('MessagePosted'),
      messageId: id,
      role: orDefault(z.enum(MESSAGE_ROLES), 'user'),
      // Without `input` the speaker is required; with it, a missing speaker becomes the userId below.
      speaker: input ? id.optional() : id,
      text,
      attachmentCaptions: orDefault(z.array(text), []),
    }),
    z.strictObject({ type: z.literal('MessageEdited'), messageId: id, text }),
    z.strictObject({ type: z.literal('MessageRedacted'), messageId: id, reason: nullableText }),
    z.strictObject({ type: z.literal('SessionEnded') }),
    z.strictObject({
      type: z.literal('FeedbackGiven'),
      memoryId: nullableId,
      messageId: nullableId,
      rating: z.enum(['up', 'down']),
      comment: nullableText,
    }),
    z
      .strictObject({
        type: z.literal('ForgetRequested'),
        scope: z.enum(['memory', 'message', 'user']),
        targetId: nullableId,
        reason: nullableText,
      })
      .superRefine((p, ctx) => {
        if (p.scope !== 'user' && p.targetId === null) {
          ctx.addIssue({ code: 'custom', path: ['targetId'], message: `is required when scope is '${p.scope}'` });
        }
      }),
    z.strictObject({ type: z.literal('QuarantineReviewed'), memoryId: id, approve: z.boolean(), reason: text, reviewer: nullableText }),
    z.strictObject({ type: z.literal('GuardRescanRequested'), memoryIds: z.array(id).max(10_000), reason: nullableText }),
  ]);

  return z
    .strictObject({
      eventId: id,
      tenantId: scopeId,
      userId: scopeId,
      conversationId: id,
      sessionId: id,
      occurredAt: input ? occurredAtInput : epochMs,
      payload,
    })
    .transform((e): ConversationEvent => {
      const p = e.payload;
      return {
        ...e,
        payload: p.type === 'MessagePosted' ? { ...p, speaker: p.speaker ?? e.userId } : p,
      };
    });
}

const inputSchema = eventSchema(true);
const domainSchema = eventSchema(false);

/** Parses the published JSON form of a conversation event; throws ValidationError listing each bad field. */
export function parseConversationEvent(json: unknown): ConversationEvent {
  const result = inputSchema.safeParse(json);
  if (!result.success) throw toValidationError(result.error);
  return result.data;
}

/** Checks a conversation event decoded from the wire against the same rules; throws ValidationError. */
export function validateConversationEvent(e: ConversationEvent): void {
  const result = domainSchema.safeParse(e);
  if (!result.success) throw toValidationError(result.error);
}

function toValidationError(error: z.ZodError): ValidationError {
  const issues: { path: string; message: string }[] = [];
  for (const issue of error.issues) {
    const at = renderPath(issue.path);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) issues.push({ path: renderPath([...issue.path, key]), message: 'unknown field' });
    } else {
      issues.push({ path: at, message: issue.message });
    }
  }
  const listed = issues.map((i) => `${i.path || '(event)'}: ${i.message}`).join('; ');
  return new ValidationError(`invalid conversation event: ${listed}`, {
    field: issues[0]?.path,
    fields: issues.map((i) => i.path),
    issues,
  });
}

function renderPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}
