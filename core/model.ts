/**
 * The domain model shared by every part: conversation events (input), memories and memory events
 * (output). These are plain data; the Avro schemas in `schemas/avro` are their wire form and the
 * codec in `schemas/` converts between the two.
 */

// ---------------------------------------------------------------- conversation events (input)

export const MESSAGE_ROLES = ['user', 'assistant', 'tool', 'system'] as const;
/** Who wrote a message: it decides how far the guard trusts what the message claims. */
export type MessageRole = (typeof MESSAGE_ROLES)[number];

export type ConversationPayload =
  | {
      readonly type: 'MessagePosted';
      readonly messageId: string;
      readonly role: MessageRole;
      /** Display name of the author ("Caroline"); first person resolves to it for user messages. */
      readonly speaker: string;
      readonly text: string;
      /** Captions of attached images, appended to the text for extraction (schema v2). */
      readonly attachmentCaptions: readonly string[];
    }
  | { readonly type: 'MessageEdited'; readonly messageId: string; readonly text: string }
  | { readonly type: 'MessageRedacted'; readonly messageId: string; readonly reason: string | null }
  | { readonly type: 'SessionEnded' }
  | {
      readonly type: 'FeedbackGiven';
      readonly memoryId: string | null;
      readonly messageId: string | null;
      readonly rating: 'up' | 'down';
      readonly comment: string | null;
    }
  | {
      readonly type: 'ForgetRequested';
      readonly scope: 'memory' | 'message' | 'user';
      readonly targetId: string | null;
      readonly reason: string | null;
    }
  | {
      /** A reviewer approved or rejected a quarantined memory (an operator's event, ordered with the user's). */
      readonly type: 'QuarantineReviewed';
      readonly memoryId: string;
      readonly approve: boolean;
      readonly reason: string;
      readonly reviewer: string | null;
    }
  | {
      /** Re-run the current guard over these memories (`engram guard rescan`). */
      readonly type: 'GuardRescanRequested';
      readonly memoryIds: readonly string[];
      readonly reason: string | null;
    };

export type ConversationEventType = ConversationPayload['type'];

/** One event from a chat platform about one user (the memory subject). */
export interface ConversationEvent {
  /** Producer-supplied id; the pipeline drops an event id it has already seen. */
  readonly eventId: string;
  readonly tenantId: string;
  readonly userId: string;
  readonly conversationId: string;
  readonly sessionId: string;
  /** World time of the event, ms since epoch. */
  readonly occurredAt: number;
  readonly payload: ConversationPayload;
}

/** Where an event sits in the log. */
export interface LogPosition {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

/** A conversation event with the log position it was read from (for provenance). */
export interface PositionedEvent {
  readonly event: ConversationEvent;
  readonly position: LogPosition;
}

// ---------------------------------------------------------------- memories

export const MEMORY_KINDS = ['fact', 'preference', 'event', 'episode', 'summary', 'lesson'] as const;
export type MemoryKind = (typeof MEMORY_KINDS)[number];

export const GRANULARITIES = ['turn', 'session', 'fact'] as const;
export type Granularity = (typeof GRANULARITIES)[number];

/** A subject-predicate-object claim; `predicate` is a normalised verb phrase ("lives_in"). */
export interface Triple {
  readonly subject: string;
  readonly predicate: string;
  readonly object: string;
}

/** Where a memory came from: the conversation event, its message and its log position. */
export interface SourceRef {
  readonly eventId: string;
  readonly messageId: string;
  readonly conversationId: string;
  readonly sessionId: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

/** What produced a memory: the pipeline run, the model and the prompt (hash) used. */
export interface Provenance {
  readonly runId: string;
  readonly model: string;
  readonly promptHash: string;
}

/** One version of one memory. */
export interface Memory {
  readonly id: string;
  readonly tenantId: string;
  readonly userId: string;
  readonly kind: MemoryKind;
  readonly granularity: Granularity;
  readonly text: string;
  readonly triple: Triple | null;
  readonly entities: readonly string[];
  readonly keywords: readonly string[];
  /** Float32-rounded so that a rebuild from the log is bit-for-bit equal. */
  readonly embedding: readonly number[];
  readonly embeddingModel: string;
  readonly importance: number;
  /** Stability S in days of the forgetting curve R = exp(-Δt / S); importance sets its start, access and reinforcement raise it. */
  readonly strength: number;
  /** World time: when the memory became true / stopped being true. */
  readonly validFrom: number;
  readonly validTo: number | null;
  /** System time: when Engram learnt it / replaced it. */
  readonly recordedAt: number;
  readonly supersededAt: number | null;
  readonly version: number;
  readonly sources: readonly SourceRef[];
  readonly provenance: Provenance;
}

/** Lifecycle of a memory as the read side sees it. */
export const MEMORY_STATUSES = ['active', 'invalidated', 'quarantined', 'forgotten', 'rejected', 'archived'] as const;
export type MemoryStatus = (typeof MEMORY_STATUSES)[number];

export const DECISION_OPS = ['ADD', 'UPDATE', 'DELETE', 'NOOP'] as const;
export type DecisionOp = (typeof DECISION_OPS)[number];

/** A consolidation decision, recorded with its reason and what it was compared with. */
export interface Decision {
  readonly op: DecisionOp;
  readonly reason: string;
  readonly comparedWith: readonly string[];
}

/** A component's share of a memory (posterior responsibility). */
export interface ClusterWeight {
  readonly component: number;
  readonly weight: number;
}

/** A weighted association edge from one memory to another. */
export interface AssociationLink {
  readonly memoryId: string;
  readonly weight: number;
}

/** A lesson distilled from a detected attack (A-MemGuard's dual memory). */
export interface Lesson {
  readonly id: string;
  readonly pattern: string;
  readonly trigger: string;
  readonly targetClaim: string;
  readonly sources: readonly SourceRef[];
  readonly createdAt: number;
}

// ---------------------------------------------------------------- memory events (output)

export type MemoryEventPayload =
  | { readonly type: 'MemoryAdded'; readonly memory: Memory; readonly decision: Decision }
  | {
      readonly type: 'MemoryUpdated';
      readonly memory: Memory;
      readonly previousVersion: number;
      readonly decision: Decision;
    }
  | {
      readonly type: 'MemoryInvalidated';
      readonly memoryId: string;
      readonly version: number;
      readonly validTo: number;
      readonly supersededAt: number;
      readonly invalidatedBy: string | null;
      readonly reason: string;
      readonly decision: Decision;
    }
  | {
      readonly type: 'MemoryRestored';
      readonly memoryId: string;
      readonly version: number;
      readonly reason: string;
    }
  | {
      readonly type: 'MemoryQuarantined';
      readonly memory: Memory;
      readonly score: number;
      readonly reasons: readonly string[];
    }
  | {
      readonly type: 'MemoryReleased';
      readonly memoryId: string;
      readonly version: number;
      readonly approved: boolean;
      readonly reason: string;
    }
  | {
      readonly type: 'MemoryForgotten';
      readonly memoryId: string;
      readonly version: number;
      readonly reason: string;
    }
  | {
      readonly type: 'MemoryReinforced';
      readonly memoryId: string;
      readonly strength: number;
      readonly reason: string;
      readonly decision: Decision;
    }
  | {
      readonly type: 'ClusterModelFitted';
      readonly modelId: string;
      readonly components: number;
      readonly dimensions: number;
      readonly memoryCount: number;
      readonly bic: number;
      readonly logLikelihood: number;
      /** The fitted model (PCA basis, weights, means, variances) as JSON, so a rebuild does not refit. */
      readonly parameters: string;
    }
  | {
      readonly type: 'ClusterAssigned';
      readonly memoryId: string;
      readonly modelId: string;
      readonly responsibilities: readonly ClusterWeight[];
      readonly links: readonly AssociationLink[];
    }
  | { readonly type: 'LessonRecorded'; readonly lesson: Lesson }
  | {
      /** Search returned these memories: each access raises their strength (forgetting curve). */
      readonly type: 'MemoryAccessed';
      readonly memoryIds: readonly string[];
      readonly accessedAt: number;
    }
  | {
      /** The forgetting pass found the memory's retention below the floor. */
      readonly type: 'MemoryArchived';
      readonly memoryId: string;
      readonly version: number;
      readonly retention: number;
      readonly strength: number;
      readonly reason: string;
    }
  | {
      /** One language-model call of the pipeline, metered per tenant. */
      readonly type: 'ModelCalled';
      readonly purpose: string;
      readonly model: string;
      readonly promptHash: string;
      readonly promptTokens: number;
      readonly completionTokens: number;
      readonly outcome: ModelCallOutcome;
    };

export const MODEL_CALL_OUTCOMES = ['ok', 'repaired', 'fallback', 'error'] as const;
/** ok: valid output; repaired: valid after one repair prompt; fallback/error: the offline path was used. */
export type ModelCallOutcome = (typeof MODEL_CALL_OUTCOMES)[number];

export type MemoryEventType = MemoryEventPayload['type'];

/** One change to a user's memory, as appended to `memory-events`. */
export interface MemoryEvent {
  /** Deterministic: a retry rewrites the same event. */
  readonly eventId: string;
  readonly tenantId: string;
  readonly userId: string;
  /** System time at which the pipeline decided this. */
  readonly recordedAt: number;
  /** Id of the conversation event (or batch) that caused this. */
  readonly causationId: string;
  readonly payload: MemoryEventPayload;
}

/** Topic names (DESIGN.md §3). */
export const TOPICS = {
  conversation: 'conversation-events',
  conversationDlq: 'conversation-events.dlq',
  memory: 'memory-events',
  memoryDlq: 'memory-events.dlq',
} as const;
