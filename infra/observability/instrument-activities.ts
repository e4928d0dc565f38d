/**
 * Wraps the memory activities once, where they are created (embedded engine and Temporal worker
 * alike): each call is timed into the stage histogram and traced as a span, and what the results
 * say is counted: guard quarantines, committed decisions, language-model tokens, batch latency.
 */
import type { CommitInput, CommitResult } from '../../activities/index.js';
import type { GuardVerdict } from '../../activities/guard/guard.js';
import type { ModelUsage, PlannedChange } from '../../core/pipeline.js';
import { recordBatch, recordDecision, recordLlmUsage, recordQuarantine, recordStage, type BatchKind, type Stage } from './metrics.js';
import { handOver, withSpan } from './tracing.js';

/** Batches whose first stage started, by `tenant/user` (a user's workflow runs one batch at a time). */
const batchStarts = new Map<string, { readonly at: number; readonly kind: BatchKind }>();
const BATCH_STARTS_LIMIT = 10_000;

/** Seconds since a `performance.now()` reading. */
const since = (start: number): number => (performance.now() - start) / 1000;

/** The key under which a memory-event position hands its trace over to the projections. */
export function memoryPositionKey(partition: number, offset: number): string {
  return `memory-events/${partition}/${offset}`;
}

/** Tenant and user of an activity input (every scoped activity has them). */
function scopeOfInput(input: unknown): { tenantId: string; userId: string } | null {
  if (typeof input !== 'object' || input === null) return null;
  const { tenantId, userId } = input as { tenantId?: unknown; userId?: unknown };
  return typeof tenantId === 'string' && typeof userId === 'string' ? { tenantId, userId } : null;
}

/** Marks the start of a batch: extract begins a batch of events, decay a forgetting pass. */
function batchStarted(key: string, kind: BatchKind): void {
  batchStarts.delete(key);
  batchStarts.set(key, { at: performance.now(), kind });
  for (const k of batchStarts.keys()) {
    if (batchStarts.size <= BATCH_STARTS_LIMIT) break;
    batchStarts.delete(k);
  }
}

/** Counts the committed changes: one decision per change, tokens per recorded model call. */
function observeCommit(input: CommitInput): void {
  const ops = new Map<string, number>();
  const usage: ModelUsage[] = [...(input.usage ?? [])];
  for (const change of input.changes as readonly PlannedChange[]) {
    if (change.op === 'USAGE') usage.push(change.usage);
    else ops.set(change.op, (ops.get(change.op) ?? 0) + 1);
  }
  for (const [op, n] of ops) recordDecision(input.tenantId, op, n);
  for (const u of usage) recordLlmUsage(input.tenantId, u);
}

/** Records what an activity's result says, inside its span (so hand-overs point at it). */
function observe(name: string, input: unknown, result: unknown, key: string | null): void {
  const scope = scopeOfInput(input);
  if (name === 'guard' && scope) {
    const verdicts = (result as { verdicts?: readonly GuardVerdict[] }).verdicts ?? [];
    for (const v of verdicts) if (v.verdict === 'quarantine') recordQuarantine(scope.tenantId, v.pattern);
  } else if (name === 'commit') {
    observeCommit(input as CommitInput);
    const { events, last } = result as CommitResult;
    // The projections of these events continue this span's trace (embedded profile, in-process).
    if (last && events > 0) {
      handOver(function* () {
        for (let o = Math.max(0, last.offset - events + 1); o <= last.offset; o++) yield memoryPositionKey(last.partition, o);
      });
    }
    const started = key === null ? undefined : batchStarts.get(key);
    if (key !== null && started) {
      batchStarts.delete(key);
      recordBatch(started.kind, since(started.at));
    }
  }
}

/** Runs one activity call: span, timing, observation. */
async function run(name: string, fn: (input: unknown) => Promise<unknown>, input: unknown): Promise<unknown> {
  const scope = scopeOfInput(input);
  const key = scope ? `${scope.tenantId}/${scope.userId}` : null;
  if (key !== null && (name === 'extract' || name === 'decay')) batchStarted(key, name === 'extract' ? 'batch' : 'decay');
  const attrs = scope ? { 'engram.activity': name, 'engram.tenant': scope.tenantId, 'engram.user': scope.userId } : { 'engram.activity': name };
  return withSpan(`engram.activity.${name}`, attrs, async () => {
    const start = performance.now();
    let result: unknown;
    try {
      result = await fn(input);
    } catch (err) {
      recordStage(name as Stage, since(start), 'error');
      throw err;
    }
    recordStage(name as Stage, since(start), 'ok');
    observe(name, input, result, key);
    return result;
  });
}

/**
 * The activities with metrics and spans around each; same keys, same signatures, so the durable
 * runner's journal and Temporal's registration see no difference.
 */
export function instrumentActivities<A extends { readonly [K in keyof A]: (input: never) => Promise<unknown> }>(acts: A): A {
  const out: Record<string, (input: unknown) => Promise<unknown>> = {};
  for (const name of Object.keys(acts)) {
    // Each value is an activity function of A (the constraint); called with its own input.
    const fn = ((acts as unknown as Record<string, (input: unknown) => Promise<unknown>>)[name] as (input: unknown) => Promise<unknown>).bind(acts);
    out[name] = (input: unknown) => run(name, fn, input);
  }
  return out as unknown as A;
}
