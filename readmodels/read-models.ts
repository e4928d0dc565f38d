/**
 * The read side over any profile's ports: hybrid search, a memory with provenance and history,
 * a user's memories, entity neighbourhoods. The embedded engine and the cluster API share it.
 */
import { ValidationError } from '../core/errors.js';
import type { Embedder, MemoryGraph, MemoryState, MemoryStore, ModelUsageTotal, Neighbourhood, VectorIndex } from '../core/ports.js';
import type { Clock } from '../core/random.js';
import type { ForgettingOptions } from '../activities/forget/retention.js';
import type { Scope } from '../core/scope.js';
import { memoryDetail, type MemoryDetail } from './memory-detail.js';
import { hybridSearch, type SearchHit, type SearchOptions } from './search.js';

export interface ReadPorts {
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

/** Search options of the read side: `recordAccess: false` reads without strengthening (benchmarks, previews). */
export interface ReadSearchOptions extends SearchOptions {
  readonly recordAccess?: boolean;
}

export class ReadModels {
  constructor(private readonly ports: ReadPorts) {}

  /** Hybrid search over one user's memories; what it returns counts as recalled (forgetting curve). */
  async search(scope: Scope, query: string, opts: ReadSearchOptions = {}): Promise<SearchHit[]> {
    const hits = await hybridSearch(this.ports, scope, query, opts);
    const { recordAccess: record, clock } = this.ports;
    const recalled = hits.filter((h) => h.status === 'active').map((h) => h.id);
    // An access needs a time: without a clock there is no forgetting curve to feed.
    if (record && clock && opts.recordAccess !== false && recalled.length > 0) await record(scope, recalled, clock.now());
    return hits;
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
