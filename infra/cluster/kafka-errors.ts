/**
 * Errors of the Kafka adapter. kafkajs errors carry a `retriable` flag; they are mapped onto the
 * service's error root with the same rule kafkajs itself uses to decide whether a crashed
 * consumer restarts: retries exhausted, or a root cause that is retriable, may pass later.
 */
import { EngramError } from '../../core/errors.js';

/** A Kafka operation failed; `retriable` says whether the same call may succeed later. */
export class KafkaError extends EngramError {
  constructor(message: string, opts: { retriable: boolean; details?: Record<string, unknown>; cause?: unknown }) {
    super(message, { code: 'kafka', retriable: opts.retriable, details: opts.details, cause: opts.cause });
  }
}

interface KafkaJsLike {
  name: string;
  message: string;
  retriable?: boolean;
  type?: string;
  cause?: unknown;
}

function isKafkaJsError(err: unknown): err is KafkaJsLike {
  return err instanceof Error && err.name.startsWith('KafkaJS');
}

/** The innermost cause of a kafkajs error chain (what kafkajs inspects before restarting). */
function rootCause(err: KafkaJsLike): KafkaJsLike {
  let current = err;
  for (let depth = 0; depth < 10 && isKafkaJsError(current.cause); depth++) current = current.cause;
  return current;
}

// Group membership errors: kafkajs flags them non-retriable because it handles them itself, by
// rejoining the group; after that, the same call (a commit, say) succeeds.
const REJOIN_TYPES = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'NOT_COORDINATOR_FOR_GROUP']);

/** Whether kafkajs would retry or restart after this error (its own `onCrash` rule), or rejoin the group. */
export function kafkaRetriable(err: unknown): boolean {
  if (err instanceof EngramError) return err.retriable;
  if (!isKafkaJsError(err)) return true;
  const root = rootCause(err);
  return err.name === 'KafkaJSNumberOfRetriesExceeded' || root.retriable === true || REJOIN_TYPES.has(root.type ?? '');
}

/**
 * Maps a thrown value to the error root: EngramErrors pass through, kafkajs errors become
 * KafkaError with their retriable flag, anything else (a programming error) is returned as is.
 */
export function toKafkaError(err: unknown, what: string): unknown {
  if (err instanceof EngramError || !isKafkaJsError(err)) return err;
  const root = rootCause(err);
  const details: Record<string, unknown> = { operation: what, kafkajs: err.name };
  if (root.type !== undefined) details.type = root.type;
  const reason = root === err ? err.message : `${err.message} (${root.name}: ${root.message})`;
  return new KafkaError(`${what}: ${reason}`, { retriable: kafkaRetriable(err), details, cause: err });
}

/** Runs a Kafka call and rethrows its failure mapped by `toKafkaError`. */
export async function guardKafka<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toKafkaError(err, what);
  }
}

/** A bounded wait ran out: retriable, the broker may just be slow or rebalancing. */
export function kafkaTimeout(what: string, timeoutMs: number, details: Record<string, unknown> = {}): KafkaError {
  return new KafkaError(`${what}: timed out after ${timeoutMs} ms`, { retriable: true, details: { ...details, timeoutMs } });
}

/** The log was closed; calls after close never succeed. */
export function kafkaClosed(what: string): KafkaError {
  return new KafkaError(`${what}: the Kafka event log is closed`, { retriable: false });
}
