import type { SqliteCheckpointStore } from '../../infra/embedded/memory-db.js';
import type { SqliteMemoryStore } from '../../infra/embedded/memory-store.js';
import type { PositionedMemoryEvent, Projection } from './projection.js';

/** Projects memory events into the memory store; effect and checkpoint in one SQLite transaction. */
export class StoreProjection implements Projection {
  readonly name = 'memory-store';

  constructor(
    private readonly store: SqliteMemoryStore,
    readonly checkpoints: SqliteCheckpointStore,
  ) {}

  async apply(events: readonly PositionedMemoryEvent[]): Promise<void> {
    if (events.length > 0) this.store.applyEvents([...events], this.name);
  }

  async reset(): Promise<void> {
    this.store.clear(this.name);
  }
}
