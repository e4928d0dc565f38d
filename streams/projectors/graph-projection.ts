import type { MemoryEvent } from '../../core/model.js';
import type { CheckpointStore, GraphMemory, GraphOp, MemoryGraph } from '../../core/ports.js';
import type { Scope } from '../../core/scope.js';
import type { PositionedMemoryEvent, Projection } from './projection.js';

/** Pure: the graph form of a memory carried by an event, or null when the event has none. */
export function graphMemoryOf(event: MemoryEvent): GraphMemory | null {
  const p = event.payload;
  if (p.type !== 'MemoryAdded' && p.type !== 'MemoryUpdated' && p.type !== 'MemoryQuarantined') return null;
  const m = p.memory;
  return {
    id: m.id,
    text: m.text,
    kind: m.kind,
    status: p.type === 'MemoryQuarantined' ? 'quarantined' : 'active',
    entities: m.entities,
    triple: m.triple,
    validFrom: m.validFrom,
    validTo: m.validTo,
    recordedAt: m.recordedAt,
    supersededAt: m.supersededAt,
    sourceMessageIds: [...new Set(m.sources.map((s) => s.messageId))],
  };
}

/** Pure: the graph operation of a memory event, or null when it changes nothing in the graph. */
export function graphOpOf(event: MemoryEvent): GraphOp | null {
  const scope: Scope = { tenantId: event.tenantId, userId: event.userId };
  const p = event.payload;
  const memory = graphMemoryOf(event);
  if (memory) return { op: 'upsert', scope, memory };
  switch (p.type) {
    case 'MemoryInvalidated':
      return { op: 'status', scope, memoryId: p.memoryId, status: 'invalidated', validTo: p.validTo, supersededAt: p.supersededAt };
    case 'MemoryRestored':
      return { op: 'status', scope, memoryId: p.memoryId, status: 'active', validTo: null, supersededAt: null };
    case 'MemoryReleased':
      return { op: 'status', scope, memoryId: p.memoryId, status: p.approved ? 'active' : 'rejected', validTo: null, supersededAt: null };
    case 'MemoryArchived':
      return { op: 'status', scope, memoryId: p.memoryId, status: 'archived', validTo: null, supersededAt: null };
    case 'MemoryForgotten':
      return { op: 'remove', scope, memoryId: p.memoryId };
    case 'ClusterAssigned':
      return p.links.length > 0 ? { op: 'link', scope, memoryId: p.memoryId, links: p.links } : null;
    default:
      return null;
  }
}

/** What the graph projection writes through: the graph's write methods, and emptying it for a replay. */
export type GraphWriter = Pick<MemoryGraph, 'upsertMemory' | 'setStatus' | 'link' | 'removeMemory' | 'applyOps'> & {
  clear(): Promise<void>;
  compact?: () => Promise<void>;
};

/** Projects memory events into the MemoryGraph; effect first, then checkpoint (idempotent MERGEs). */
export class GraphProjection implements Projection {
  readonly name = 'memory-graph';

  constructor(
    private readonly graph: GraphWriter,
    readonly checkpoints: CheckpointStore & { reset(projector: string): Promise<void> },
  ) {}

  async apply(events: readonly PositionedMemoryEvent[]): Promise<void> {
    const ops = events.flatMap(({ event }) => graphOpOf(event) ?? []);
    if (this.graph.applyOps) {
      // One transaction and a few bulk statements for the whole batch (same result as one by one).
      await this.graph.applyOps(ops);
    } else {
      for (const op of ops) {
        if (op.op === 'upsert') await this.graph.upsertMemory(op.scope, op.memory);
        else if (op.op === 'status') await this.graph.setStatus(op.scope, op.memoryId, op.status, op.validTo, op.supersededAt);
        else if (op.op === 'link') await this.graph.link(op.scope, op.memoryId, op.links);
        else await this.graph.removeMemory(op.scope, op.memoryId);
      }
    }
    // An engine that keeps deleted bytes in its pages rewrites itself, so erasure leaves no trace.
    if (ops.some((o) => o.op === 'remove')) await this.graph.compact?.();
  }

  async reset(): Promise<void> {
    await this.graph.clear();
    await this.checkpoints.reset(this.name);
  }
}
