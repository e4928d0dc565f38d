import { NotFoundError } from '../core/errors.js';
import type { MemoryState, MemoryStore, MemoryVersion } from '../core/ports.js';
import type { Scope } from '../core/scope.js';

export interface MemoryDetail {
  readonly state: MemoryState;
  readonly history: readonly MemoryVersion[];
}

/** A memory with its provenance (sources) and version history; NotFoundError if absent. */
export async function memoryDetail(store: MemoryStore, scope: Scope, id: string): Promise<MemoryDetail> {
  const state = await store.get(scope, id);
  if (!state || state.status === 'forgotten') throw new NotFoundError(`no memory ${id} for ${scope.tenantId}/${scope.userId}`);
  return { state, history: await store.history(scope, id) };
}
