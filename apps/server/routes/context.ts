/** What the core routes need: the service, the background loop's kick, time, and shared options. */
import type { Clock } from '../../../core/random.js';
import type { MemoryService } from '../../service.js';
import type { RouteOptions } from '../route.js';

export interface RouteContext extends RouteOptions {
  readonly service: MemoryService;
  /** Asks the background loop to process what was just published. */
  readonly kick: () => void;
  readonly clock: Clock;
  /** Waits (the read-your-writes poll). */
  readonly sleep: (ms: number) => Promise<void>;
  /** How many partitions `conversation-events` has (to find a user's partition). */
  readonly partitions: () => Promise<number>;
}
