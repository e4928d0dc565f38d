/**
 * What the API, the CLI's readers and the examples need from Engram, whatever the profile: the
 * embedded `Engine` and the cluster `ClusterService` both provide it.
 */
import type { ConversationEvent, LogPosition } from '../core/model.js';
import type { MemoryState, Neighbourhood } from '../core/ports.js';
import type { Scope } from '../core/scope.js';
import type { MemoryDetail } from '../readmodels/memory-detail.js';
import type { SearchHit } from '../readmodels/search.js';
import type { ReadSearchOptions as SearchOptions } from '../readmodels/read-models.js';

/** Readiness of each backing store: `ok` or the reason it is not. */
export interface ReadyReport {
  readonly ok: boolean;
  readonly checks: Readonly<Record<string, string>>;
}

export interface MemoryService {
  /** Appends validated events to `conversation-events`; returns their positions. */
  publish(events: readonly ConversationEvent[]): Promise<LogPosition[]>;
  search(scope: Scope, query: string, opts?: SearchOptions): Promise<SearchHit[]>;
  memory(scope: Scope, id: string): Promise<MemoryDetail>;
  memories(scope: Scope, all?: boolean): Promise<MemoryState[]>;
  neighbourhood(scope: Scope, entity: string, depth?: number): Promise<Neighbourhood>;
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

