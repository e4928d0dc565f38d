/**
 * The data passed between pipeline stages (extract → embed → associate → consolidate → resolve
 * conflicts → guard → commit). Everything here is plain JSON so the durable runner and Temporal
 * can record it as activity results.
 */
import type {
  AssociationLink,
  ClusterWeight,
  Granularity,
  Lesson,
  Memory,
  MemoryKind,
  MessageRole,
  ModelCallOutcome,
  SourceRef,
  Triple,
} from './model.js';

/** A memory the extractor proposes, before embedding. */
export interface CandidateUnit {
  /** Deterministic memory id (core/ids.ts memoryIdOf(scope, sourceEventId, granularity, ordinal)). */
  readonly id: string;
  readonly sourceEventId: string;
  readonly kind: MemoryKind;
  readonly granularity: Granularity;
  readonly text: string;
  readonly triple: Triple | null;
  readonly entities: readonly string[];
  readonly keywords: readonly string[];
  /** 0..1: how much this is worth remembering. */
  readonly importance: number;
  /** World time at which it became true (a resolved date, or the message time). */
  readonly validFrom: number;
  readonly sources: readonly SourceRef[];
  /** Role of the message author: the guard trusts `user` most. */
  readonly role: MessageRole;
  readonly speaker: string;
  /** An explicit retraction ("I no longer…", "forget that…"): consolidation turns it into DELETE. */
  readonly retraction: boolean;
  /** Set when a language model produced this unit: recorded as the memory's provenance. */
  readonly producedBy?: { readonly model: string; readonly promptHash: string };
}

/** A candidate with its embedding. */
export interface EmbeddedCandidate extends CandidateUnit {
  readonly embedding: readonly number[];
  readonly embeddingModel: string;
  /** SHA-256 of the normalised text, for exact-duplicate detection. */
  readonly textHash: string;
}

/** A candidate with its cluster responsibilities and association links. */
export interface AssociatedCandidate extends EmbeddedCandidate {
  readonly clusters: readonly ClusterWeight[];
  readonly links: readonly AssociationLink[];
}

/** Non-message events turn into lifecycle commands rather than candidates. */
export type LifecycleCommand =
  | { readonly type: 'forgetMemory'; readonly memoryId: string; readonly reason: string; readonly causationId: string }
  | { readonly type: 'forgetMessage'; readonly messageId: string; readonly reason: string; readonly causationId: string }
  | { readonly type: 'forgetUser'; readonly reason: string; readonly causationId: string }
  /** An edited or redacted message: its memories are retired (and facts they displaced restored). */
  | {
      readonly type: 'retireMessage';
      readonly messageId: string;
      readonly reason: string;
      readonly causationId: string;
      readonly at: number;
    }
  | {
      readonly type: 'feedback';
      readonly memoryId: string;
      readonly rating: 'up' | 'down';
      readonly causationId: string;
    }
  /** A reviewer's verdict on a quarantined memory. */
  | {
      readonly type: 'review';
      readonly memoryId: string;
      readonly approve: boolean;
      readonly reason: string;
      readonly causationId: string;
    }
  /** Check these memories again with the current guard (the guard stage acts on it). */
  | { readonly type: 'rescan'; readonly memoryIds: readonly string[]; readonly reason: string; readonly causationId: string };

/** One turn remembered by the workflow until its session ends (for session summaries). */
export interface SessionTurn {
  readonly sessionId: string;
  readonly conversationId: string;
  readonly speaker: string;
  readonly text: string;
  readonly occurredAt: number;
  readonly source: SourceRef;
}

/** A change the pipeline has decided on; `commit` turns each into memory events. */
export type PlannedChange =
  | {
      readonly op: 'ADD';
      readonly candidate: AssociatedCandidate;
      readonly reason: string;
      readonly comparedWith: readonly string[];
    }
  | {
      readonly op: 'UPDATE';
      readonly candidate: AssociatedCandidate;
      /** The memory being refined keeps its id; the candidate's content becomes its next version. */
      readonly targetId: string;
      readonly previousVersion: number;
      readonly reason: string;
      readonly comparedWith: readonly string[];
    }
  | {
      /** Retraction: recorded as invalidation, never a hard delete. */
      readonly op: 'DELETE';
      readonly targetId: string;
      readonly previousVersion: number;
      readonly validTo: number;
      readonly reason: string;
      readonly comparedWith: readonly string[];
      readonly causationId: string;
    }
  | {
      /** Duplicate: reinforce the existing memory. */
      readonly op: 'NOOP';
      readonly targetId: string;
      readonly strength: number;
      readonly reason: string;
      readonly comparedWith: readonly string[];
      readonly causationId: string;
    }
  | {
      /** Conflict resolution: a newer contradicting fact closes this one's validity. */
      readonly op: 'INVALIDATE';
      readonly targetId: string;
      readonly previousVersion: number;
      readonly validTo: number;
      readonly invalidatedBy: string | null;
      readonly reason: string;
      readonly causationId: string;
    }
  | {
      readonly op: 'RESTORE';
      readonly targetId: string;
      readonly previousVersion: number;
      readonly reason: string;
      readonly causationId: string;
    }
  | {
      readonly op: 'FORGET';
      readonly targetId: string;
      readonly previousVersion: number;
      readonly reason: string;
      readonly causationId: string;
    }
  | {
      /** The guard held this candidate back. */
      readonly op: 'QUARANTINE';
      readonly candidate: AssociatedCandidate;
      readonly score: number;
      readonly reasons: readonly string[];
    }
  | { readonly op: 'LESSON'; readonly lesson: Lesson; readonly causationId: string }
  | {
      /** A reviewed quarantined memory: released (active again) or rejected. */
      readonly op: 'RELEASE';
      readonly targetId: string;
      readonly previousVersion: number;
      readonly approved: boolean;
      readonly reason: string;
      readonly causationId: string;
    }
  | {
      /** A rescan caught an active memory: it is quarantined by a new version (the log is never rewritten). */
      readonly op: 'HOLD';
      readonly memory: Memory;
      readonly previousVersion: number;
      readonly score: number;
      readonly reasons: readonly string[];
      readonly causationId: string;
    }
  | {
      /** The forgetting pass: retention fell below the floor. */
      readonly op: 'ARCHIVE';
      readonly targetId: string;
      readonly previousVersion: number;
      readonly retention: number;
      readonly strength: number;
      readonly reason: string;
      readonly causationId: string;
    }
  | { readonly op: 'USAGE'; readonly usage: ModelUsage; readonly causationId: string }
  | {
      /**
       * Erasure: destroy keys of the user's keyring after the batch's events are written (a
       * message's key, or the whole keyring). FORGET changes also destroy their memory's key.
       */
      readonly op: 'SHRED';
      readonly keyIds: readonly string[];
      readonly wholeKeyring: boolean;
      readonly causationId: string;
    };

/** One language-model call made by a stage; commit records it as a `ModelCalled` event. */
export interface ModelUsage {
  readonly purpose: 'extraction' | 'consolidation' | 'conflict' | 'guard';
  readonly model: string;
  readonly promptHash: string;
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly outcome: ModelCallOutcome;
}
