/**
 * The SearchFilter as a predicate over a memory state, for memories that reach a search without
 * passing through the index's own filter (expansion targets). Same semantics as the adapters:
 * statuses default to active; valid at t means validFrom ≤ t < validTo; known at t means
 * recordedAt ≤ t < supersededAt.
 */
import type { MemoryState, SearchFilter } from '../../core/ports.js';

/** Whether `state` passes `filter`. */
export function matchesFilter(state: MemoryState, filter: SearchFilter): boolean {
  const m = state.memory;
  if (!(filter.statuses ?? ['active']).includes(state.status)) return false;
  if (filter.kinds && !filter.kinds.includes(m.kind)) return false;
  if (filter.granularities && !filter.granularities.includes(m.granularity)) return false;
  if (filter.validAt !== undefined && (m.validFrom > filter.validAt || (m.validTo !== null && m.validTo <= filter.validAt))) return false;
  if (filter.knownAt !== undefined && (m.recordedAt > filter.knownAt || (m.supersededAt !== null && m.supersededAt <= filter.knownAt))) return false;
  return true;
}
