import type { MemoryEvent } from '../../core/model.js';
import type { CheckpointStore, VectorDoc, VectorIndex, VectorWrite } from '../../core/ports.js';
import type { Scope } from '../../core/scope.js';
import type { PositionedMemoryEvent, Projection } from './projection.js';

/** What one memory event does to the vector index. */
export type VectorOp =
  | { readonly op: 'upsert'; readonly doc: VectorDoc }
  | { readonly op: 'status'; readonly id: string; readonly status: VectorDoc['status']; readonly validTo: number | null; readonly supersededAt: number | null }
  | { readonly op: 'remove'; readonly id: string }
  | { readonly op: 'none' };

/** Pure: the vector-index operation for a memory event. */
export function vectorOpOf(event: MemoryEvent): VectorOp {
  const p = event.payload;
  switch (p.type) {
    case 'MemoryAdded':
    case 'MemoryUpdated':
    case 'MemoryQuarantined': {
      const m = p.memory;
      return {
        op: 'upsert',
        doc: {
          id: m.id,
          text: m.text,
          embedding: m.embedding,
          kind: m.kind,
          granularity: m.granularity,
          status: p.type === 'MemoryQuarantined' ? 'quarantined' : 'active',
          validFrom: m.validFrom,
          validTo: m.validTo,
          recordedAt: m.recordedAt,
          supersededAt: m.supersededAt,
        },
      };
    }
    case 'MemoryInvalidated':
      return { op: 'status', id: p.memoryId, status: 'invalidated', validTo: p.validTo, supersededAt: p.supersededAt };
    case 'MemoryRestored':
      return { op: 'status', id: p.memoryId, status: 'active', validTo: null, supersededAt: null };
    case 'MemoryReleased':
      return { op: 'status', id: p.memoryId, status: p.approved ? 'active' : 'rejected', validTo: null, supersededAt: null };
    case 'MemoryArchived':
      return { op: 'status', id: p.memoryId, status: 'archived', validTo: null, supersededAt: null };
    case 'MemoryForgotten':
      return { op: 'remove', id: p.memoryId };
    default:
      return { op: 'none' };
  }
}

/** Projects memory events into the VectorIndex; effect first, then checkpoint (idempotent ops). */
export class VectorProjection implements Projection {
  readonly name = 'vector-index';

  constructor(
    private readonly vectors: VectorIndex & { clear(): Promise<void> | void },
    readonly checkpoints: CheckpointStore & { reset(projector: string): Promise<void> },
  ) {}

  async apply(events: readonly PositionedMemoryEvent[]): Promise<void> {
    if (this.vectors.applyWrites) {
      const writes: VectorWrite[] = [];
      for (const { event } of events) {
        const scope: Scope = { tenantId: event.tenantId, userId: event.userId };
        const op = vectorOpOf(event);
        if (op.op === 'upsert') writes.push({ op: 'upsert', scope, doc: op.doc });
        else if (op.op === 'status') writes.push({ op: 'status', scope, id: op.id, status: op.status, validTo: op.validTo, supersededAt: op.supersededAt });
        else if (op.op === 'remove') writes.push({ op: 'remove', scope, id: op.id });
      }
      // One transaction per batch instead of one per event.
      if (writes.length > 0) await this.vectors.applyWrites(writes);
      return;
    }
    for (const { event } of events) {
      const scope: Scope = { tenantId: event.tenantId, userId: event.userId };
      const op = vectorOpOf(event);
      if (op.op === 'upsert') await this.vectors.upsert(scope, [op.doc]);
      else if (op.op === 'status') await this.vectors.setStatus(scope, op.id, op.status, op.validTo, op.supersededAt);
      else if (op.op === 'remove') await this.vectors.remove(scope, [op.id]);
    }
  }

  async reset(): Promise<void> {
    await this.vectors.clear();
    await this.checkpoints.reset(this.name);
  }
}
