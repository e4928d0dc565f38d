/**
 * What the API, the CLI's readers and the examples need from Engram, whatever the profile: the
 * embedded `Engine` and the cluster `ClusterService` both provide it.
 */
import type { ConversationEvent, Lesson, LogPosition, SourceRef } from '../core/model.js';
import type { MemoryState, Neighbourhood } from '../core/ports.js';
import type { SourceQuote } from '../streams/source-quotes.js';
import type { Scope } from '../core/scope.js';
import type { MemoryDetail } from '../readmodels/memory-detail.js';
import type { SearchHit } from '../readmodels/search.js';
import type { QuarantineItem, ReadSearchOptions as SearchOptions, SearchResult, UserExport } from '../readmodels/read-models.js';

/** Readiness of each backing store: `ok` or the reason it is not. */
export interface ReadyReport {
  readonly ok: boolean;
  readonly checks: Readonly<Record<string, string>>;
}

/** A reviewer's decision on a quarantined memory. */
export interface ReviewVerdict {
  readonly approve: boolean;
  readonly reason: string;
  /** Who decided (recorded in the event's reason). */
  readonly reviewer?: string;
}

/** How far each projector has come over `memory-events`, against the log's end (per partition). */
export interface Watermarks {
  readonly conversationEnd: readonly number[];
  readonly memoryEnd: readonly number[];
  /** Projector name → next offset to project, per partition. */
  readonly projected: Readonly<Record<string, readonly number[]>>;
}

export type { QuarantineItem, SourceQuote, UserExport };

export interface MemoryService {
  /** Appends validated events to `conversation-events`; returns their positions. */
  publish(events: readonly ConversationEvent[]): Promise<LogPosition[]>;
  search(scope: Scope, query: string, opts?: SearchOptions): Promise<SearchHit[]>;
  /** Search with the read-time guard's findings: hits, the lessons that touch them, flagged members. */
  searchResult(scope: Scope, query: string, opts?: SearchOptions): Promise<SearchResult>;
  memory(scope: Scope, id: string): Promise<MemoryDetail>;
  memories(scope: Scope, all?: boolean): Promise<MemoryState[]>;
  neighbourhood(scope: Scope, entity: string, depth?: number): Promise<Neighbourhood>;
  /** The user ids a tenant has memories for. */
  users(tenantId: string): Promise<string[]>;
  /** Lessons distilled from detected attacks on this user's memory. */
  lessons(scope: Scope): Promise<Lesson[]>;
  /** The review queue: quarantined memories of a tenant (or one user), with reasons and sources. */
  quarantine(tenantId: string, userId?: string): Promise<QuarantineItem[]>;
  /**
   * Approves (MemoryReleased, approved) or rejects a quarantined memory, through the user's
   * workflow; resolves with the memory's state once the verdict is projected. NotFoundError when
   * the memory is absent, ValidationError when it is not quarantined.
   */
  review(scope: Scope, memoryId: string, verdict: ReviewVerdict): Promise<MemoryState>;
  /** Everything held about a user, as JSON-ready data. */
  exportUser(scope: Scope): Promise<UserExport>;
  /** The source messages of a memory, quoted from the conversation log. */
  sourceQuotes(scope: Scope, sources: readonly SourceRef[]): Promise<SourceQuote[]>;
  /** True once the conversation event at `position` is processed and visible to reads. */
  caughtUp(position: LogPosition): Promise<boolean>;
  watermarks(): Promise<Watermarks>;
  ready(): Promise<ReadyReport>;
}

/** Runs named checks; a check that throws reports its message. */
export async function readiness(checks: Readonly<Record<string, () => Promise<unknown>>>): Promise<ReadyReport> {
  const out: Record<string, string> = {};
  let ok = true;
  for (const [name, check] of Object.entries(checks)) {
    try {
      await check();
      out[name] = 'ok';
    } catch (err) {
      ok = false;
      out[name] = err instanceof Error ? err.message : String(err);
    }
  }
  return { ok, checks: out };
}

