/**
 * The API's request and response schemas (zod), one per route part: they validate requests and
 * are the OpenAPI document's schemas (see zod-openapi.ts). Named parts become components.
 */
import { z } from 'zod';
import { GRANULARITIES, MEMORY_KINDS, MEMORY_STATUSES, MESSAGE_ROLES } from '../../core/model.js';
import { SCOPE_ID } from '../../core/scope.js';
import { MAX_K } from '../../readmodels/search.js';
import { component, doc } from './zod-openapi.js';

/** Most events in one publish request. */
export const MAX_BATCH = 1000;
/** Longest bounded wait for read-your-writes (`waitMs`). */
export const MAX_WAIT_MS = 10_000;
const MAX_ID = 256;

// ---------------------------------------------------------------- building blocks

const scopeId = z.string().regex(SCOPE_ID, "1-64 characters from A-Z, a-z, 0-9, '_' and '-'");
const userId = doc(scopeId, 'User id (the memory subject), within the key\'s tenant.');
const anyId = z.string().min(1).max(MAX_ID);
const epochMs = z.number();
const boolString = z
  .enum(['true', 'false'])
  .optional()
  .transform((v) => v === 'true');
/** A query parameter given once or repeated (`kind=fact&kind=event`), as an array. */
const oneOrMany = <T extends z.ZodType>(item: T) =>
  z
    .union([item, z.array(item)])
    .optional()
    .transform((v) => (v === undefined ? undefined : Array.isArray(v) ? (v as z.output<T>[]) : [v as z.output<T>]));

const MemoryKind = component('MemoryKind', z.enum(MEMORY_KINDS));
const Granularity = component('Granularity', z.enum(GRANULARITIES));
const MemoryStatus = component('MemoryStatus', z.enum(MEMORY_STATUSES));

// ---------------------------------------------------------------- shared response parts

export const ErrorBody = component(
  'Error',
  z.object({ error: z.object({ code: doc(z.string(), 'Stable machine-readable code (invalid_input, unauthorized, forbidden, not_found, too_large, rate_limited, …).'), message: z.string() }) }),
  'Every error: a code and a message.',
);

export const LogPosition = component('LogPosition', z.object({ topic: z.string(), partition: z.number().int(), offset: z.number().int() }));

const SourceRef = component(
  'SourceRef',
  z.object({
    eventId: z.string(),
    messageId: z.string(),
    conversationId: z.string(),
    sessionId: z.string(),
    topic: z.string(),
    partition: z.number().int(),
    offset: z.number().int(),
  }),
  'A source message of a memory: its event, message and log position.',
);

const Triple = component('Triple', z.object({ subject: z.string(), predicate: z.string(), object: z.string() }));

/** The memory's own fields, without its embedding. */
const memoryFields = {
  id: z.string(),
  tenantId: z.string(),
  userId: z.string(),
  kind: MemoryKind,
  granularity: Granularity,
  text: z.string(),
  triple: Triple.nullable(),
  entities: z.array(z.string()),
  keywords: z.array(z.string()),
  embeddingModel: z.string(),
  importance: z.number(),
  strength: z.number(),
  validFrom: doc(epochMs, 'World time the memory became true (epoch ms).'),
  validTo: doc(epochMs.nullable(), 'World time it stopped being true, or null.'),
  recordedAt: doc(epochMs, 'System time Engram learnt it (epoch ms).'),
  supersededAt: epochMs.nullable(),
  sources: z.array(SourceRef),
  provenance: z.object({ runId: z.string(), model: z.string(), promptHash: z.string() }),
};

export const MemoryView = component(
  'MemoryView',
  z.object({
    ...memoryFields,
    status: MemoryStatus,
    version: doc(z.number().int(), 'Latest version, lifecycle changes included.'),
    quarantineReasons: z.array(z.string()),
    invalidatedBy: z.string().nullable(),
  }),
  'A memory (without its embedding) with its lifecycle status.',
);

const MemoryVersion = component(
  'MemoryVersion',
  z.object({
    version: z.number().int(),
    type: doc(z.string(), 'The memory event that made this version (MemoryAdded, MemoryInvalidated, …).'),
    recordedAt: epochMs,
    status: MemoryStatus,
    text: z.string(),
    validFrom: epochMs,
    validTo: epochMs.nullable(),
    reason: z.string(),
    eventId: z.string(),
  }),
);

const SourceQuote = component(
  'SourceQuote',
  z.object({
    eventId: z.string(),
    messageId: z.string(),
    role: z.string().nullable(),
    speaker: z.string().nullable(),
    text: doc(z.string().nullable(), 'The message as posted (or last edited); null once erased.'),
    occurredAt: epochMs.nullable(),
    topic: z.string(),
    partition: z.number().int(),
    offset: z.number().int(),
  }),
  'A source message quoted from the conversation log.',
);

const SearchHit = component(
  'SearchHit',
  z.object({
    id: z.string(),
    score: z.number(),
    text: z.string(),
    kind: MemoryKind,
    granularity: Granularity,
    status: MemoryStatus,
    triple: Triple.nullable(),
    validFrom: epochMs,
    validTo: epochMs.nullable(),
    recordedAt: epochMs,
    sources: z.array(SourceRef),
  }),
);

const Lesson = component(
  'Lesson',
  z.object({ id: z.string(), pattern: z.string(), trigger: z.string(), targetClaim: z.string(), sources: z.array(SourceRef), createdAt: epochMs }),
  'A lesson distilled from a detected attack on memory (A-MemGuard).',
);

const FlaggedHit = component(
  'FlaggedHit',
  z.object({ id: z.string(), text: z.string(), reasons: z.array(z.string()), dropped: z.boolean() }),
  'A retrieved memory the read-time guard flagged against the consensus of the rest.',
);

const QuarantineItem = component(
  'QuarantineItem',
  z.object({
    userId: z.string(),
    memoryId: z.string(),
    version: z.number().int(),
    kind: MemoryKind,
    text: z.string(),
    reasons: z.array(z.string()),
    sources: z.array(SourceRef),
    recordedAt: epochMs,
  }),
);

const GraphNode = component(
  'GraphNode',
  z.object({ id: z.string(), label: z.enum(['Entity', 'Memory']), name: z.string(), status: MemoryStatus.optional() }),
);
const GraphEdge = component(
  'GraphEdge',
  z.object({
    from: z.string(),
    to: z.string(),
    type: z.enum(['MENTIONS', 'RELATES', 'ASSOCIATED']),
    predicate: z.string().optional(),
    weight: z.number().optional(),
    validFrom: epochMs.optional(),
    validTo: epochMs.nullable().optional(),
    memoryId: z.string().optional(),
  }),
);
export const Neighbourhood = component('Neighbourhood', z.object({ nodes: z.array(GraphNode), edges: z.array(GraphEdge) }));

const ExportedMemory = component(
  'ExportedMemory',
  z.object({
    state: z.object({
      memory: z.object(memoryFields),
      status: MemoryStatus,
      version: z.number().int(),
      quarantineReasons: z.array(z.string()),
      decisionReason: z.string(),
      invalidatedBy: z.string().nullable(),
      clusters: z.array(z.object({ component: z.number().int(), weight: z.number() })),
      links: z.array(z.object({ memoryId: z.string(), weight: z.number() })),
      accesses: z.number().optional(),
      lastTouchedAt: epochMs.optional(),
    }),
    history: z.array(MemoryVersion),
    status: z.string(),
  }),
  'One memory of an export: its full state (without the embedding) and history.',
);

export const UserExport = component(
  'UserExport',
  z.object({ tenantId: z.string(), userId: z.string(), exportedAt: epochMs, memories: z.array(ExportedMemory), lessons: z.array(Lesson) }),
  'Everything Engram holds about one user.',
);

export const Watermarks = component(
  'Watermarks',
  z.object({
    conversationEnd: doc(z.array(z.number().int()), 'End offset of conversation-events, per partition.'),
    memoryEnd: doc(z.array(z.number().int()), 'End offset of memory-events, per partition.'),
    projected: doc(z.record(z.string(), z.array(z.number().int())), 'Projector → next offset to project, per partition.'),
  }),
);

// ---------------------------------------------------------------- publish

const nullableId = anyId.nullable().optional();
const nullableText = z.string().nullable().optional();

/** The published JSON form of a conversation event (schemas/conversation-input.ts checks it fully). */
export const ConversationEventInput = component(
  'ConversationEventInput',
  z.strictObject({
    eventId: doc(anyId, 'Producer-supplied id: publishing the same id again is a no-op.'),
    tenantId: doc(scopeId, "Must be the API key's tenant."),
    userId,
    conversationId: anyId,
    sessionId: anyId,
    occurredAt: doc(z.union([z.string(), z.number().int().min(0)]), 'World time: ISO-8601 with a zone, or epoch ms.'),
    payload: z.discriminatedUnion('type', [
      z.strictObject({
        type: z.literal('MessagePosted'),
        messageId: anyId,
        role: z.enum(MESSAGE_ROLES).optional(),
        speaker: anyId.optional(),
        text: z.string(),
        attachmentCaptions: z.array(z.string()).optional(),
      }),
      z.strictObject({ type: z.literal('MessageEdited'), messageId: anyId, text: z.string() }),
      z.strictObject({ type: z.literal('MessageRedacted'), messageId: anyId, reason: nullableText }),
      z.strictObject({ type: z.literal('SessionEnded') }),
      z.strictObject({ type: z.literal('FeedbackGiven'), memoryId: nullableId, messageId: nullableId, rating: z.enum(['up', 'down']), comment: nullableText }),
      z.strictObject({ type: z.literal('ForgetRequested'), scope: z.enum(['memory', 'message', 'user']), targetId: nullableId, reason: nullableText }),
    ]),
  }),
  'A conversation event as a chat platform publishes it.',
);

export const PublishBody = doc(
  z.union([
    ConversationEventInput,
    z.array(ConversationEventInput).min(1).max(MAX_BATCH),
    z.strictObject({ events: z.array(ConversationEventInput).min(1).max(MAX_BATCH) }),
  ]),
  `One event, an array of 1-${MAX_BATCH} events, or {"events": [...]}.`,
);

export const PublishResponse = z.object({ accepted: z.number().int(), positions: z.array(LogPosition) });

// ---------------------------------------------------------------- search

export const SearchQuery = z.strictObject({
  user: userId,
  q: doc(z.string().min(1).max(4096), 'What to look for.'),
  k: doc(z.coerce.number().int().min(1).max(MAX_K).default(10), `How many results (1-${MAX_K}).`),
  kind: doc(oneOrMany(MemoryKind), 'Only these kinds (repeat the parameter for several).'),
  granularity: doc(oneOrMany(Granularity), 'Only these granularities (repeat for several).'),
  asOf: doc(z.string().max(64).optional(), 'World time (ISO-8601 or epoch ms): only memories valid then.'),
  includeInvalid: doc(boolString, 'Include expired (invalidated) memories.'),
  includeArchived: doc(boolString, 'Include memories the forgetting pass archived.'),
  minOffset: doc(z.coerce.number().int().min(0).optional(), "Read your own writes: wait until this user's conversation events up to this offset are processed."),
  waitMs: doc(z.coerce.number().int().min(0).max(MAX_WAIT_MS).default(5000), `How long to wait for minOffset (at most ${MAX_WAIT_MS} ms).`),
});

export const SearchResponse = z.object({
  results: z.array(SearchHit),
  lessons: z.array(Lesson),
  flagged: z.array(FlaggedHit),
  caughtUp: doc(z.boolean().optional(), 'With minOffset: false when the wait ran out before the events were processed.'),
});

// ---------------------------------------------------------------- users and memories

export const UserParams = z.strictObject({ user: userId });
export const MemoryParams = z.strictObject({ user: userId, id: doc(anyId, 'Memory id.') });
export const EntityParams = z.strictObject({ user: userId, name: doc(z.string().min(1).max(MAX_ID), 'Entity name.') });
export const MemoriesQuery = z.strictObject({ all: doc(boolString, 'Every status but erased (default: active only).') });
export const DepthQuery = z.strictObject({ depth: doc(z.coerce.number().int().min(1).max(3).default(1), 'Hops (1-3).') });

export const UsersResponse = z.object({ users: z.array(z.string()) });
export const MemoriesResponse = z.object({ memories: z.array(MemoryView) });
export const MemoryResponse = z.object({ memory: MemoryView, sources: z.array(SourceQuote), history: z.array(MemoryVersion) });
export const ProfileResponse = z.object({ facts: z.array(MemoryView) });
export const LessonsResponse = z.object({ lessons: z.array(Lesson) });

// ---------------------------------------------------------------- quarantine and forgetting

export const QuarantineQuery = z.strictObject({ user: scopeId.optional() });
export const QuarantineResponse = z.object({ items: z.array(QuarantineItem) });
export const ReviewParams = z.strictObject({ id: doc(anyId, 'Memory id.') });
export const ReviewBody = z.strictObject({ user: userId, reason: doc(z.string().min(1).max(2000), 'Why (kept in the memory history).') });
export const ReviewResponse = z.object({ memory: MemoryView });

export const ForgetBody = z
  .strictObject({
    user: userId,
    scope: doc(z.enum(['memory', 'message', 'user']), 'Forget one memory, everything from one message, or the whole user.'),
    targetId: doc(anyId.optional(), 'Memory id or message id (not for scope user).'),
    reason: z.string().max(2000).optional(),
    requestId: doc(anyId.optional(), 'Makes a repeated request a new one (the event id is derived from the request).'),
  })
  .refine((b) => b.scope === 'user' || b.targetId !== undefined, { message: 'targetId is required unless scope is user', path: ['targetId'] });

export const ForgetResponse = z.object({ eventId: z.string(), positions: z.array(LogPosition) });

// ---------------------------------------------------------------- operations

export const HealthResponse = z.object({ status: z.literal('ok') });
export const ReadyResponse = z.object({ status: z.enum(['ready', 'not_ready']), checks: z.record(z.string(), z.string()) });
