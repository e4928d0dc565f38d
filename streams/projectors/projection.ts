import type { LogPosition, MemoryEvent } from '../../core/model.js';
import type { CheckpointStore } from '../../core/ports.js';

/** A decoded memory event with where it sits in the log. */
export interface PositionedMemoryEvent {
  readonly event: MemoryEvent;
  readonly position: LogPosition;
}

/**
 * A projection of `memory-events` into one read store. `apply` must be idempotent: after a crash
 * the events since the last checkpoint are applied again, in the same order.
 */
export interface Projection {
  readonly name: string;
  readonly checkpoints: CheckpointStore;
  /** Applies events in log order. May advance its own checkpoint atomically with the effect. */
  apply(events: readonly PositionedMemoryEvent[]): Promise<void>;
  /** Drops everything this projection holds, checkpoints included (for replay). */
  reset(): Promise<void>;
}
