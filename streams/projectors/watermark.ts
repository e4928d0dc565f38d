/**
 * Waiting for the read side: resolves once named projections have applied the log up to a
 * position, by polling their checkpoints. Used where the projectors run in another process (the
 * cluster profile's worker, the API's `minOffset`); in one process the runner applies directly.
 */
import { EngramError } from '../../core/errors.js';
import type { LogPosition } from '../../core/model.js';
import type { CheckpointStore } from '../../core/ports.js';

/** The read side has not caught up in time; retrying later may succeed. */
export class ProjectionLagError extends EngramError {
  constructor(message: string, details: Record<string, unknown>) {
    super(message, { code: 'projection_lag', retriable: true, details });
  }
}

export interface WatchedProjection {
  readonly name: string;
  readonly checkpoints: CheckpointStore;
}

export interface AwaitOptions {
  readonly timeoutMs?: number;
  readonly pollMs?: number;
  /** Injected for tests; defaults to setTimeout. */
  readonly sleep?: (ms: number) => Promise<void>;
}

const realSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves when every projection's checkpoint for the position's partition is past its offset. */
export async function awaitProjections(projections: readonly WatchedProjection[], position: LogPosition, opts: AwaitOptions = {}): Promise<void> {
  const pollMs = opts.pollMs ?? 50;
  const rounds = Math.max(1, Math.ceil((opts.timeoutMs ?? 30_000) / pollMs));
  const sleep = opts.sleep ?? realSleep;
  const behind = async (): Promise<string[]> => {
    const out: string[] = [];
    for (const p of projections) {
      if ((await p.checkpoints.checkpoint(p.name, position.topic, position.partition)) <= position.offset) out.push(p.name);
    }
    return out;
  };
  for (let round = 0; ; round++) {
    const lagging = await behind();
    if (lagging.length === 0) return;
    if (round + 1 >= rounds) {
      throw new ProjectionLagError(`projections ${lagging.join(', ')} have not reached ${position.topic}/${position.partition}/${position.offset} yet`, {
        projections: lagging,
        position,
      });
    }
    await sleep(pollMs);
  }
}
