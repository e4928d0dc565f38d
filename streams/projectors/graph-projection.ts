import type { MemoryEvent } from '../../core/model.js';
import type { CheckpointStore, GraphMemory, MemoryGraph } from '../../core/ports.js';
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

/** Projects memory events into the MemoryGraph; effect first, then checkpoint (idempotent MERGEs). */
export class GraphProjection implements Projection {
  readonly name = 'memory-graph';

  constructor(
    private readonly graph: MemoryGraph & { clear(): Promise<void>; compact?: () => Promise<void> },
    readonly checkpoints: CheckpointStore & { reset(projector: string): Promise<void> },
  ) {}

  async apply(events: readonly PositionedMemoryEvent[]): Promise<void> {
    let erased = false;
    for (const { event } of events) {
      const scope: Scope = { tenantId: event.tenantId, userId: event.userId };
      const p = event.payload;
      const memory = graphMemoryOf(event);
      if (memory) await this.graph.upsertMemory(scope, memory);
      else if (p.type === 'MemoryInvalidated') await this.graph.setStatus(scope, p.memoryId, 'invalidated', p.validTo, p.supersededAt);
      else if (p.type === 'MemoryRestored') await this.graph.setStatus(scope, p.memoryId, 'active', null, null);
      else if (p.type === 'MemoryReleased') await this.graph.setStatus(scope, p.memoryId, p.approved ? 'active' : 'rejected', null, null);
      else if (p.type === 'MemoryArchived') await this.graph.setStatus(scope, p.memoryId, 'archived', null, null)
      else if (p.type === 'MemoryForgotten') {
        await this.graph.removeMemory(scope, p.memoryId);
        erased = true;
      }
      else if (p.type === 'ClusterAssigned' && p.links.length > 0) await this.graph.link(scope, p.memoryId, p.links);
    }
    // An engine that keeps deleted bytes in its pages rewrites itself, so erasure leaves no trace.
    if (erased) await this.graph.compact?.();
  }

  async reset(): Promise<void> {
    await this.graph.clear();
    await this.checkpoints.reset(this.name);
  }
}
