/**
 * The read side over any profile's ports: hybrid search, a memory with provenance and history,
 * a user's memories, entity neighbourhoods. The embedded engine and the cluster API share it.
 */
import { ValidationError } from '../core/errors.js';
import type { Embedder, MemoryGraph, MemoryState, MemoryStore, ModelUsageTotal, Neighbourhood, VectorIndex } from '../core/ports.js';
import type { Clock } from '../core/random.js';
import type { ForgettingOptions } from '../activities/forget/retention.js';
import type { Lesson, MemoryKind, SourceRef } from '../core/model.js';
import type { Scope } from '../core/scope.js';
import { memoryDetail, type MemoryDetail } from './memory-detail.js';
import { hybridSearch, MAX_K, type SearchHit, type SearchOptions } from './search.js';
import { checkRetrieved } from './guard-check.js';
import { scopeOf } from '../core/scope.js';

export interface ReadPorts {
  /** The read-time guard (on unless ENGRAM_GUARD=off). */
  readonly guard?: boolean;
  readonly embedder: Embedder;
  readonly vectors: VectorIndex;
  readonly store: MemoryStore;
  readonly graph: MemoryGraph;
  readonly clock?: Clock;
  readonly forgetting?: ForgettingOptions;
  /** Records that a search returned these memories (a `MemoryAccessed` event): retrieval strengthens memories. */
  readonly recordAccess?: (scope: Scope, memoryIds: readonly string[], at: number) => Promise<void>;
}

/** Every lifecycle status but erased, for listings with `all`. */
const ALL_STATUSES = ['active', 'invalidated', 'quarantined', 'rejected', 'archived'] as const;

/** One entry of the quarantine review queue. */
export interface QuarantineItem {
  readonly userId: string;
  readonly memoryId: string;
  readonly version: number;
  readonly kind: MemoryKind;
  readonly text: string;
  readonly reasons: readonly string[];
  readonly sources: readonly SourceRef[];
  /** System time the memory was held back. */
  readonly recordedAt: number;
}

/** Everything Engram holds about one user (the export of the right of access). */
export interface UserExport {
  readonly tenantId: string;
  readonly userId: string;
  readonly exportedAt: number;
  readonly memories: readonly (MemoryDetail & { readonly status: string })[];
  readonly lessons: readonly Lesson[];
}

/** A retrieved memory the read-time guard flagged: it breaks the consensus of the rest of the set. */
export interface FlaggedHit {
  readonly id: string;
  readonly text: string;
  readonly reasons: readonly string[];
  /** Dropped from `hits` (the default), or kept and only marked (`guard: 'flag'`). */
  readonly dropped: boolean;
}

/** A search answer with the guard's view of it. */
export interface SearchResult {
  readonly hits: SearchHit[];
  /** Lessons about attacks that touch the subjects of the hits or the query. */
  readonly lessons: Lesson[];
  readonly flagged: FlaggedHit[];
}

/** Search options of the read side: `recordAccess: false` reads without strengthening (benchmarks, previews). */
export interface ReadSearchOptions extends SearchOptions {
  readonly recordAccess?: boolean;
  /** The read-time guard: drop flagged members (default), only flag them, or skip the check. */
  readonly guard?: 'drop' | 'flag' | 'off';
}

export class ReadModels {
  constructor(private readonly ports: ReadPorts) {}

  /** Hybrid search over one user's memories, after the read-time guard; what it returns counts as recalled. */
  async search(scope: Scope, query: string, opts: ReadSearchOptions = {}): Promise<SearchHit[]> {
    return (await this.searchResult(scope, query, opts)).hits;
  }

  /** Hybrid search with the read-time guard's findings: the hits, flagged members and relevant lessons. */
  async searchResult(scope: Scope, query: string, opts: ReadSearchOptions = {}): Promise<SearchResult> {
    const mode = this.ports.guard === false ? 'off' : (opts.guard ?? 'drop');
    let hits = await hybridSearch(this.ports, scope, query, opts);
    let lessons: Lesson[] = [];
    let flagged: FlaggedHit[] = [];
    if (mode !== 'off') {
      const known = await this.ports.store.lessons(scope);
      let check = checkRetrieved(query, hits, known);
      const k = opts.k ?? 10;
      if (mode === 'drop' && check.flagged.size > 0 && k < MAX_K) {
        // Ask for as many more as were flagged, so dropping them still leaves k answers.
        hits = await hybridSearch(this.ports, scope, query, { ...opts, k: Math.min(MAX_K, k + check.flagged.size) });
        check = checkRetrieved(query, hits, known);
      }
      flagged = hits.filter((h) => check.flagged.has(h.id)).map((h) => ({ id: h.id, text: h.text, reasons: check.flagged.get(h.id) ?? [], dropped: mode === 'drop' }));
      if (mode === 'drop') hits = hits.filter((h) => !check.flagged.has(h.id)).slice(0, k);
      lessons = check.lessons;
    }
    const { recordAccess: record, clock } = this.ports;
    const recalled = hits.filter((h) => h.status === 'active').map((h) => h.id);
    // An access needs a time: without a clock there is no forgetting curve to feed.
    if (record && clock && opts.recordAccess !== false && recalled.length > 0) await record(scope, recalled, clock.now());
    return { hits, lessons, flagged };
  }

  /** The user ids a tenant has memories for. */
  users(tenantId: string): Promise<string[]> {
    return this.ports.store.users(tenantId);
  }

  /** Lessons distilled from detected attacks on this user's memory. */
  lessons(scope: Scope): Promise<Lesson[]> {
    return this.ports.store.lessons(scope);
  }

  /** The review queue: quarantined memories of a tenant (or one user), oldest first. */
  async quarantine(tenantId: string, userId?: string): Promise<QuarantineItem[]> {
    const users = userId !== undefined ? [userId] : await this.ports.store.users(tenantId);
    const items: QuarantineItem[] = [];
    for (const u of users) {
      for (const s of await this.ports.store.list(scopeOf(tenantId, u), { statuses: ['quarantined'] })) {
        const m = s.memory;
        items.push({ userId: u, memoryId: m.id, version: s.version, kind: m.kind, text: m.text, reasons: s.quarantineReasons, sources: m.sources, recordedAt: m.recordedAt });
      }
    }
    return items.sort((a, b) => a.recordedAt - b.recordedAt || (a.memoryId < b.memoryId ? -1 : 1));
  }

  /** Everything held about a user: every memory with its history, and the lessons. */
  async exportUser(scope: Scope): Promise<UserExport> {
    const states = await this.ports.store.list(scope, { statuses: ALL_STATUSES });
    const memories = [];
    for (const state of states) memories.push({ state, history: await this.ports.store.history(scope, state.memory.id), status: state.status });
    return {
      tenantId: scope.tenantId,
      userId: scope.userId,
      exportedAt: this.ports.clock?.now() ?? Date.now(),
      memories,
      lessons: await this.ports.store.lessons(scope),
    };
  }

  /** Language-model tokens metered for a tenant. */
  modelUsage(tenantId: string): Promise<ModelUsageTotal[]> {
    return this.ports.store.modelUsage(tenantId);
  }

  /** One memory with provenance and history. */
  memory(scope: Scope, id: string): Promise<MemoryDetail> {
    return memoryDetail(this.ports.store, scope, id);
  }

  /** A user's memories: active ones, or every status with `all`. */
  memories(scope: Scope, all = false): Promise<MemoryState[]> {
    return this.ports.store.list(scope, { statuses: all ? ALL_STATUSES : ['active'] });
  }

  /** Entities and memories within 1 to 3 hops of an entity. */
  neighbourhood(scope: Scope, entity: string, depth = 1): Promise<Neighbourhood> {
    if (!Number.isInteger(depth) || depth < 1 || depth > 3) throw new ValidationError('depth must be 1, 2 or 3');
    return this.ports.graph.neighbourhood(scope, entity, depth);
  }
}
