/**
 * What the API shows of the read side: memories without their embeddings (large, and of no use
 * to a client), with their lifecycle status.
 */
import type { Memory } from '../../core/model.js';
import type { MemoryState } from '../../core/ports.js';
import type { UserExport } from '../service.js';

/** A memory's fields without the embedding. */
export type MemoryFields = Omit<Memory, 'embedding'>;

/** A memory as the API shows it. */
export interface MemoryView extends MemoryFields {
  readonly status: MemoryState['status'];
  readonly version: number;
  readonly quarantineReasons: readonly string[];
  readonly invalidatedBy: string | null;
}

/** Drops the embedding of a memory. */
export function withoutEmbedding(memory: Memory): MemoryFields {
  const { embedding: _embedding, ...rest } = memory;
  return rest;
}

/** A memory state as the API shows it. */
export function memoryView(state: MemoryState): MemoryView {
  return {
    ...withoutEmbedding(state.memory),
    status: state.status,
    version: state.version,
    quarantineReasons: state.quarantineReasons,
    invalidatedBy: state.invalidatedBy,
  };
}

/** An export without embeddings (the rest is kept whole: it is the right of access). */
export function exportView(data: UserExport) {
  return {
    ...data,
    memories: data.memories.map((m) => ({ ...m, state: { ...m.state, memory: withoutEmbedding(m.state.memory) } })),
  };
}
