/**
 * Argument checks every EventLog adapter shares (Kafka's naming rules and offset arithmetic), so
 * the embedded log and the Kafka log refuse the same input with the same errors.
 */
import { ValidationError } from '../core/errors.js';
import type { LogPosition } from '../core/model.js';

/** Kafka's legal topic and group names. */
export const LOG_NAME_RE = /^[A-Za-z0-9._-]{1,249}$/;

/** Throws ValidationError unless `name` is a legal topic or group name. */
export function checkName(kind: string, name: string): void {
  if (typeof name !== 'string' || !LOG_NAME_RE.test(name)) {
    throw new ValidationError(`invalid ${kind} name ${JSON.stringify(name)}: expected ${LOG_NAME_RE.source}`, { [kind]: name });
  }
}

/** Throws ValidationError unless `n` is a safe integer of at least `min`. */
export function checkCount(what: string, n: number, min: number): void {
  if (!Number.isSafeInteger(n) || n < min) throw new ValidationError(`${what} must be an integer >= ${min}, got ${n}`);
}

/** The offset to commit per partition (the highest record's offset + 1), after checking each record. */
export function commitTargets(topic: string, partitions: number, records: readonly LogPosition[]): Map<number, number> {
  const next = new Map<number, number>();
  for (const r of records) {
    if (r.topic !== topic) {
      throw new ValidationError(`cannot commit ${r.topic} through a consumer of ${topic}`, { topic: r.topic });
    }
    if (!Number.isInteger(r.partition) || r.partition < 0 || r.partition >= partitions) {
      throw new ValidationError(`topic ${topic} has no partition ${r.partition}`);
    }
    checkCount('offset', r.offset, 0);
    next.set(r.partition, Math.max(next.get(r.partition) ?? 0, r.offset + 1));
  }
  return next;
}
