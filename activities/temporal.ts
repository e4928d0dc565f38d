/**
 * The memory activities as a Temporal worker runs them: each heartbeats (so cancellation reaches it
 * and a hung worker is noticed), refuses to start once cancelled, and turns EngramErrors into
 * ApplicationFailures whose retryability follows `retriable` (DESIGN.md §4.9). Activities never
 * retry themselves: Temporal owns retries.
 */
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { EngramError } from '../core/errors.js';
import type { MemoryActivities } from './index.js';

/** Lower bound between heartbeats while an effect runs (the SDK throttles further). */
const MIN_HEARTBEAT_MS = 1_000;

/** The Temporal failure a thrown value becomes; unknown errors are re-thrown (and retried). */
export function toActivityFailure(err: unknown): unknown {
  if (err instanceof ApplicationFailure || err instanceof CancelledFailure) return err;
  if (!(err instanceof EngramError)) return err;
  const details = { code: err.code, ...err.details };
  return err.retriable
    ? ApplicationFailure.retryable(err.message, err.name, details)
    : ApplicationFailure.nonRetryable(err.message, err.name, details);
}

/** Wraps one activity: heartbeat, cancellation check, effect, heartbeat, error mapping. */
function wrap<I, R>(name: string, fn: (input: I) => Promise<R>): (input: I) => Promise<R> {
  return async (input: I): Promise<R> => {
    const ctx = Context.current();
    // A heartbeat first: it is how the server tells a running activity that it was cancelled.
    ctx.heartbeat({ activity: name, phase: 'start' });
    // Throws the CancelledFailure the worker aborted the signal with.
    ctx.cancellationSignal.throwIfAborted();
    const every = ctx.info.heartbeatTimeoutMs;
    const ticker =
      every === undefined || every <= 0
        ? undefined
        : setInterval(() => ctx.heartbeat({ activity: name, phase: 'running' }), Math.max(MIN_HEARTBEAT_MS, Math.floor(every / 3)));
    try {
      const result = await fn(input);
      ctx.heartbeat({ activity: name, phase: 'done' });
      return result;
    } catch (err) {
      throw toActivityFailure(err);
    } finally {
      if (ticker) clearInterval(ticker);
    }
  };
}

/** Adapts the activities for a Temporal worker (same names, same signatures). */
export function temporalActivities(acts: MemoryActivities): MemoryActivities {
  return {
    extract: wrap('extract', acts.extract),
    embed: wrap('embed', acts.embed),
    associate: wrap('associate', acts.associate),
    consolidate: wrap('consolidate', acts.consolidate),
    resolveConflicts: wrap('resolveConflicts', acts.resolveConflicts),
    guard: wrap('guard', acts.guard),
    decay: wrap('decay', acts.decay),
    commit: wrap('commit', acts.commit),
  };
}
