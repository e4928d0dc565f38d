/**
 * The Temporal adapter of the activities, run in an activity context like the worker's: heartbeats,
 * cancellation before the effect, and the mapping of EngramErrors to (non-)retryable failures.
 *
 * `MockActivityEnvironment` lives in @temporalio/testing, which is not installed; `ActivityEnv`
 * below is the same thin wrapper over the worker's own `Activity` class (the one the worker runs
 * every activity in), so the context, heartbeat callback and cancellation are the SDK's.
 */
import { EventEmitter } from 'node:events';
import test from 'ava';
import { ApplicationFailure, CancelledFailure, type Info } from '@temporalio/activity';
import { defaultFailureConverter, defaultPayloadConverter, noopMetricMeter } from '@temporalio/common';
import { DefaultLogger } from '@temporalio/worker';
import { Activity } from '@temporalio/worker/lib/activity.js';
import type { MemoryActivities } from '../../activities/index.js';
import { temporalActivities } from '../../activities/temporal.js';
import { DataDirError, StorageError, ValidationError } from '../../core/errors.js';

const baseInfo: Info = {
  attempt: 1,
  taskQueue: 'engram-memory',
  isLocal: false,
  taskToken: Buffer.from('test'),
  base64TaskToken: Buffer.from('test').toString('base64'),
  activityId: '1',
  activityType: 'extract',
  workflowType: 'memoryWorkflow',
  heartbeatTimeoutMs: undefined,
  heartbeatDetails: undefined,
  activityNamespace: 'default',
  workflowNamespace: 'default',
  workflowExecution: { workflowId: 'memory/acme/alice', runId: '00000000-0000-0000-0000-000000000000' },
  scheduledTimestampMs: 1,
  startToCloseTimeoutMs: 60_000,
  scheduleToCloseTimeoutMs: 0,
  currentAttemptScheduledTimestampMs: 1,
  namespace: 'default',
  inWorkflow: true,
};

/** Runs functions in a real activity context; emits 'heartbeat' with each heartbeat's details. */
class ActivityEnv extends EventEmitter {
  private readonly activity: Activity;

  constructor(info: Partial<Info> = {}) {
    super();
    const full = { ...baseInfo, ...info };
    this.activity = new Activity(
      full,
      undefined,
      { payloadConverter: defaultPayloadConverter, payloadCodecs: [], failureConverter: defaultFailureConverter },
      { type: 'activity', namespace: full.namespace, activityId: full.activityId, workflowId: full.workflowExecution?.workflowId, isLocal: false },
      undefined,
      (details?: unknown) => this.emit('heartbeat', details),
      undefined,
      new DefaultLogger('ERROR'),
      noopMetricMeter,
      [],
    );
  }

  /** Cancels the activity, as the worker does when the server reports a cancellation. */
  cancel(): void {
    this.activity.cancel('CANCELLED', { cancelRequested: true } as Parameters<Activity['cancel']>[1]);
  }

  /** Runs `fn(...args)` inside the activity context. */
  run<A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> {
    // runNoEncoding takes any activity function; the cast keeps the caller's types.
    return this.activity.runNoEncoding(fn as (...a: unknown[]) => Promise<unknown>, { args, headers: {} }) as Promise<R>;
  }
}

/** Activities whose every call is counted and answered by `impl`. */
function fakeActivities(impl: (name: string, input: unknown) => Promise<unknown>): { acts: MemoryActivities; calls: string[] } {
  const calls: string[] = [];
  const names = ['extract', 'embed', 'associate', 'consolidate', 'resolveConflicts', 'guard', 'commit'];
  const acts = Object.fromEntries(
    names.map((name) => [
      name,
      (input: unknown) => {
        calls.push(name);
        return impl(name, input);
      },
    ]),
  );
  // The fakes have every activity's name; their results are whatever each test needs.
  return { acts: acts as unknown as MemoryActivities, calls };
}

const extractInput = { tenantId: 'acme', userId: 'alice', events: [], sessionTurns: [] };

test('an activity heartbeats before and after its effect and returns its result', async (t) => {
  const env = new ActivityEnv();
  const beats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => beats.push(d));
  const result = { candidates: [], lifecycle: [], sessionTurns: [] };
  const { acts, calls } = fakeActivities(async () => {
    beats.push('effect');
    return result;
  });
  const out = await env.run(temporalActivities(acts).extract, extractInput);
  t.is(out, result);
  t.deepEqual(calls, ['extract']);
  t.deepEqual(beats, [{ activity: 'extract', phase: 'start' }, 'effect', { activity: 'extract', phase: 'done' }]);
});

test('a long activity with a heartbeat timeout keeps heartbeating while its effect runs', async (t) => {
  const env = new ActivityEnv({ activityType: 'embed', heartbeatTimeoutMs: 3_000 });
  const beats: unknown[] = [];
  let running!: () => void;
  const sawRunning = new Promise<void>((resolve) => (running = resolve));
  env.on('heartbeat', (d: { phase?: string }) => {
    beats.push(d);
    if (d.phase === 'running') running();
  });
  // The effect ends only once a heartbeat was sent while it ran.
  const { acts } = fakeActivities(async () => {
    await sawRunning;
    return [];
  });
  await env.run(temporalActivities(acts).embed, { candidates: [] });
  t.deepEqual(beats[0], { activity: 'embed', phase: 'start' });
  t.true(beats.some((b) => (b as { phase?: string }).phase === 'running'));
  t.deepEqual(beats.at(-1), { activity: 'embed', phase: 'done' });
});

test('a cancelled activity throws CancelledFailure before its effect', async (t) => {
  const env = new ActivityEnv();
  const { acts, calls } = fakeActivities(async () => ({ events: 0, last: null }));
  env.cancel();
  const err = await t.throwsAsync(
    env.run(temporalActivities(acts).commit, { tenantId: 'acme', userId: 'alice', after: null, batchId: 'b', changes: [], fitted: null }),
  );
  t.true(err instanceof CancelledFailure, String(err));
  t.deepEqual(calls, []);
});

test('a non-retriable EngramError becomes a non-retryable ApplicationFailure named after it', async (t) => {
  const env = new ActivityEnv();
  const { acts } = fakeActivities(async () => {
    throw new ValidationError('invalid user id "a b"', { field: 'userId' });
  });
  const err = await t.throwsAsync(env.run(temporalActivities(acts).extract, extractInput));
  t.true(err instanceof ApplicationFailure);
  const failure = err as ApplicationFailure;
  t.is(failure.type, 'ValidationError');
  t.true(failure.nonRetryable);
  t.is(failure.message, 'invalid user id "a b"');
  t.deepEqual(failure.details, [{ code: 'invalid_input', field: 'userId' }]);
});

test('a retriable EngramError becomes a retryable ApplicationFailure', async (t) => {
  const env = new ActivityEnv();
  const { acts } = fakeActivities(async () => {
    throw new StorageError('database is locked');
  });
  const err = await t.throwsAsync(env.run(temporalActivities(acts).consolidate, { tenantId: 'acme', userId: 'alice', after: null, candidates: [], lifecycle: [] }));
  t.true(err instanceof ApplicationFailure);
  t.is((err as ApplicationFailure).type, 'StorageError');
  t.false((err as ApplicationFailure).nonRetryable);
});

test('retriability follows the instance: a transient DataDirError stays retryable, a fatal one does not', async (t) => {
  for (const retriable of [true, false]) {
    const env = new ActivityEnv();
    const { acts } = fakeActivities(async () => {
      throw new DataDirError('disk full', { retriable });
    });
    const err = await t.throwsAsync(env.run(temporalActivities(acts).commit, { tenantId: 'acme', userId: 'alice', after: null, batchId: 'b', changes: [], fitted: null }));
    t.is((err as ApplicationFailure).type, 'DataDirError');
    t.is((err as ApplicationFailure).nonRetryable, !retriable);
  }
});

test('other errors are re-thrown unchanged (Temporal retries them)', async (t) => {
  const env = new ActivityEnv();
  const boom = new TypeError('boom');
  const { acts } = fakeActivities(async () => {
    throw boom;
  });
  const err = await t.throwsAsync(env.run(temporalActivities(acts).guard, { tenantId: 'acme', userId: 'alice', after: null, changes: [] }));
  t.is(err, boom);
});
