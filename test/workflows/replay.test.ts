/**
 * Replays memoryWorkflow histories through the Temporal worker's replayer (no server): a recorded
 * history must replay against the current workflow code, and fail with DeterminismViolationError
 * against changed code or a history whose activities differ. Histories are built by
 * test/helpers/temporal-history.ts from a run of processBatch over plausible activity results.
 * Regenerate the recorded fixture (only when a change is meant to break replay, e.g. behind a
 * patch) with UPDATE_TEMPORAL_HISTORY=1.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { textHashOf } from '../../core/text.js';
import type { ConversationEvent, PositionedEvent } from '../../core/model.js';
import { extract } from '../../activities/extract/extract.js';
import { consolidate } from '../../activities/consolidate/consolidate.js';
import { resolveConflicts } from '../../activities/conflicts/resolve.js';
import { guard } from '../../activities/guard/guard.js';
import { ACTIVITY_OPTIONS, eventsSignal, type MemoryWorkflowInput } from '../../workflows/memory-workflow.js';
import { initialState, processBatch, type BatchActivities, type MemoryWorkflowState } from '../../workflows/process-batch.js';
import { HistoryBuilder, payloadJSON, recording, type HistoryJSON, type RecordedCall } from '../helpers/temporal-history.js';

const logger = new DefaultLogger('WARN');
// Quiet: the failing cases make core log the workflow task failures they provoke.
Runtime.install({ logger, shutdownSignals: [], telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } } });

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const RECORDED = here('./fixtures/memory-workflow.history.json');
const WORKFLOW_ID = 'memory/acme/alice';
const TASK_QUEUE = 'engram-memory';

const event = (n: number, text: string, offset: number): PositionedEvent => {
  const e: ConversationEvent = {
    eventId: `evt-${n}`,
    tenantId: 'acme',
    userId: 'alice',
    conversationId: 'conv-1',
    sessionId: 'sess-1',
    occurredAt: Date.UTC(2026, 0, 1, 9, n),
    payload: { type: 'MessagePosted', messageId: `msg-${n}`, role: 'user', speaker: 'Alice', text, attachmentCaptions: [] },
  };
  return { event: e, position: { topic: 'conversation-events', partition: 1, offset } };
};
const e1 = event(1, 'I moved to Lisbon last year and I work as a nurse at the Santa Maria hospital.', 10);
const e2 = event(2, 'My sister Ana lives in Porto and she loves surfing.', 11);
const e3 = event(3, 'I am allergic to peanuts.', 12);

/** A deterministic stand-in for the embedding model: 8 numbers from the text hash. */
const vectorOf = (text: string): number[] => {
  const hash = textHashOf(text);
  const v = Array.from({ length: 8 }, (_, i) => parseInt(hash.slice(i * 4, i * 4 + 4), 16) / 65535 - 0.5);
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => x / norm);
};

/** Plausible activity results: the real pure stages over an empty memory, a fake embedder and log. */
const plausible: BatchActivities = {
  extract: async (input) => extract(input),
  embed: async ({ candidates }) =>
    candidates.map((c) => ({ ...c, embedding: vectorOf(c.text), embeddingModel: 'test-hash/8', textHash: textHashOf(c.text) })),
  associate: async ({ candidates }) => ({ fitted: null, candidates: candidates.map((c) => ({ ...c, clusters: [], links: [] })) }),
  consolidate: async ({ candidates }) => consolidate(candidates, { neighbours: {}, exactMatches: {}, activeFacts: {} }),
  resolveConflicts: async ({ changes }) => resolveConflicts(changes, { activeFacts: {} }),
  guard: async ({ changes }) => guard(changes, { related: {}, lessons: [] }),
  decay: async () => [],
  commit: async ({ changes }) => ({
    events: changes.length,
    last: changes.length === 0 ? null : { topic: 'memory-events', partition: 1, offset: changes.length - 1 },
  }),
};

/** Runs processBatch over recording activities: the calls the workflow makes, with their results. */
async function recordBatch(state: MemoryWorkflowState, batch: PositionedEvent[], seq: number): Promise<{ state: MemoryWorkflowState; calls: RecordedCall[] }> {
  const { acts, calls } = recording(plausible);
  const next = await processBatch(acts, state, batch, `${WORKFLOW_ID}#${seq}`);
  return { state: next, calls };
}

const optionsOf = (type: string) => ACTIVITY_OPTIONS[type as keyof typeof ACTIVITY_OPTIONS];

/** signalWithStart with two events, batch size 64: one batch, extract → … → commit. */
async function oneBatchHistory(): Promise<HistoryJSON> {
  const input: MemoryWorkflowInput = { tenantId: 'acme', userId: 'alice', batchSize: 64 };
  const h = new HistoryBuilder({ workflowType: 'memoryWorkflow', taskQueue: TASK_QUEUE, args: [input] });
  h.signal(eventsSignal.name, [[e1, e2]]).workflowTask();
  const { calls } = await recordBatch(initialState('acme', 'alice'), [e1, e2], 1);
  for (const c of calls) h.activity(c.activityType, c.input, c.result, optionsOf(c.activityType));
  return h.toJSON();
}

/**
 * Batch size 1: events 1 and 2 start the workflow; while batch 1's extract runs, a second signal
 * re-delivers 2 (still pending) and 1 (already processed) and brings 3. Batches: [1], [2], [1]
 * (dropped as seen: no activities), [3]. (The replayer tolerates extra commands after the last
 * recorded task, so this checks the interleaving and the loop, not the deduplication.)
 */
async function signalDuringBatchHistory(): Promise<HistoryJSON> {
  const input: MemoryWorkflowInput = { tenantId: 'acme', userId: 'alice', batchSize: 1 };
  const h = new HistoryBuilder({ workflowType: 'memoryWorkflow', taskQueue: TASK_QUEUE, args: [input] });
  h.signal(eventsSignal.name, [[e1, e2]]).workflowTask();
  let state = initialState('acme', 'alice');
  const first = await recordBatch(state, [e1], 1);
  state = first.state;
  const [extractCall, ...rest] = first.calls;
  if (!extractCall) throw new Error('batch 1 made no calls');
  const scheduled = h.scheduleActivity(extractCall.activityType, extractCall.input, optionsOf(extractCall.activityType));
  const started = h.startActivity(scheduled);
  h.signal(eventsSignal.name, [[e2, e1, e3]]).workflowTask();
  h.completeActivity(scheduled, started, extractCall.result).workflowTask();
  for (const c of rest) h.activity(c.activityType, c.input, c.result, optionsOf(c.activityType));
  for (const [batch, seq] of [[[e2], 2], [[e3], 3]] as const) {
    const next = await recordBatch(state, [...batch], seq);
    state = next.state;
    for (const c of next.calls) h.activity(c.activityType, c.input, c.result, optionsOf(c.activityType));
  }
  return h.toJSON();
}

const activityEvents = (history: HistoryJSON) =>
  history.events.flatMap((e) => {
    const attrs = e['activityTaskScheduledEventAttributes'] as { activityType: { name: string } } | undefined;
    return attrs ? [attrs] : [];
  });

let real: WorkflowBundle;
let changed: WorkflowBundle;

test.before(async () => {
  // One bundle of the real workflows and one of the changed fixture, shared by every case.
  real = await bundleWorkflowCode({ workflowsPath: here('../../workflows/index.ts'), logger });
  changed = await bundleWorkflowCode({ workflowsPath: here('./fixtures/changed-workflows.ts'), logger });
  if (process.env['UPDATE_TEMPORAL_HISTORY']) writeFileSync(RECORDED, `${JSON.stringify(await oneBatchHistory(), null, 2)}\n`);
});

const replay = (bundle: WorkflowBundle, history: HistoryJSON): Promise<void> =>
  Worker.runReplayHistory({ workflowBundle: bundle, replayName: 'engram-replay' }, history, WORKFLOW_ID);

const recorded = (): HistoryJSON => JSON.parse(readFileSync(RECORDED, 'utf8')) as HistoryJSON;

test('the recorded history has the whole pipeline, in order, with its results', (t) => {
  const h = recorded();
  t.deepEqual(
    activityEvents(h).map((a) => a.activityType.name),
    ['extract', 'embed', 'associate', 'consolidate', 'resolveConflicts', 'guard', 'commit'],
  );
  const completed = h.events.filter((e) => e.eventType === 'ActivityTaskCompleted');
  t.is(completed.length, 7);
  // The extract result carries real candidates (episode and facts of both messages).
  const extractResult = (completed[0]?.['activityTaskCompletedEventAttributes'] as { result: { payloads: { data: string }[] } }).result.payloads[0];
  const decoded = JSON.parse(Buffer.from(extractResult?.data ?? '', 'base64').toString('utf8')) as { candidates: unknown[] };
  t.true(decoded.candidates.length >= 2);
});

test('the recorded history replays against the current workflow code', async (t) => {
  await t.notThrowsAsync(replay(real, recorded()));
});

test('a history with a signal during a batch and re-delivered events replays (three batches)', async (t) => {
  const h = await signalDuringBatchHistory();
  t.is(activityEvents(h).length, 21);
  await t.notThrowsAsync(replay(real, h));
});

test('a changed workflow (guard skipped) fails to replay the recorded history', async (t) => {
  const err = await t.throwsAsync(replay(changed, recorded()));
  t.true(err instanceof DeterminismViolationError, String(err));
});

test('a history with two activities swapped fails to replay', async (t) => {
  const h = await oneBatchHistory();
  const [first, second] = activityEvents(h);
  if (!first || !second) throw new Error('expected activities');
  [first.activityType.name, second.activityType.name] = [second.activityType.name, first.activityType.name];
  const err = await t.throwsAsync(replay(real, h));
  t.true(err instanceof DeterminismViolationError, String(err));
});

test('replay feeds the recorded results to the workflow: an unusable extract result fails it', async (t) => {
  const h = await oneBatchHistory();
  const completed = h.events.find((e) => e.eventType === 'ActivityTaskCompleted');
  if (!completed) throw new Error('expected a completed activity');
  // processBatch reads extracted.candidates: a null result makes the workflow task fail.
  completed['activityTaskCompletedEventAttributes'] = {
    ...(completed['activityTaskCompletedEventAttributes'] as object),
    result: { payloads: [payloadJSON(null)] },
  };
  const err = await t.throwsAsync(replay(real, h));
  t.regex(String(err), /workflow task failure|TypeError|null/i);
  t.false(err instanceof DeterminismViolationError);
});

test('a batch failing for good is skipped and recorded; the workflow goes on with the next one', async (t) => {
  const input: MemoryWorkflowInput = { tenantId: 'acme', userId: 'alice', batchSize: 1 };
  const h = new HistoryBuilder({ workflowType: 'memoryWorkflow', taskQueue: TASK_QUEUE, args: [input] });
  h.signal(eventsSignal.name, [[e1]]).workflowTask();
  const start = initialState('acme', 'alice');
  const failing = await recordBatch(start, [e1], 1);
  for (const c of failing.calls) {
    if (c.activityType !== 'guard') {
      h.activity(c.activityType, c.input, c.result, optionsOf(c.activityType));
      continue;
    }
    const scheduled = h.scheduleActivity(c.activityType, c.input, optionsOf(c.activityType));
    const started = h.startActivity(scheduled);
    h.failActivity(scheduled, started, { message: 'invalid candidate', type: 'ValidationError', nonRetryable: true }).workflowTask();
    break;
  }
  // Had the workflow failed, its last task would have closed it: no room for the next batch.
  h.signal(eventsSignal.name, [[e3]]).workflowTask();
  const next = await recordBatch({ ...start, seen: [e1.event.eventId] }, [e3], 2);
  for (const c of next.calls) h.activity(c.activityType, c.input, c.result, optionsOf(c.activityType));
  t.deepEqual(
    activityEvents(h.toJSON()).map((a) => a.activityType.name).slice(0, 7),
    ['extract', 'embed', 'associate', 'consolidate', 'resolveConflicts', 'guard', 'extract'],
  );
  await t.notThrowsAsync(replay(real, h.toJSON()));
});

test('the workflow continues as new when the server suggests it, and the new run takes the pending events', async (t) => {
  const input: MemoryWorkflowInput = { tenantId: 'acme', userId: 'alice', batchSize: 1 };
  const h = new HistoryBuilder({ workflowType: 'memoryWorkflow', taskQueue: TASK_QUEUE, args: [input] });
  h.signal(eventsSignal.name, [[e1, e2]]).workflowTask();
  const first = await recordBatch(initialState('acme', 'alice'), [e1], 1);
  const last = first.calls.at(-1);
  for (const c of first.calls.slice(0, -1)) h.activity(c.activityType, c.input, c.result, optionsOf(c.activityType));
  if (!last) throw new Error('expected calls');
  const scheduled = h.scheduleActivity(last.activityType, last.input, optionsOf(last.activityType));
  h.completeActivity(scheduled, h.startActivity(scheduled), last.result).workflowTask({ suggestContinueAsNew: true });
  const carried: MemoryWorkflowInput = { ...input, state: first.state, pending: [e2], failed: [], skippedBatches: 0 };
  h.continuedAsNew('memoryWorkflow', [carried]);
  await t.notThrowsAsync(replay(real, h.toJSON()));

  // The next run starts from the carried state and processes the carried event without a signal.
  const run2 = new HistoryBuilder({ workflowType: 'memoryWorkflow', taskQueue: TASK_QUEUE, args: [carried], runId: '5a1e2b7c-93d4-4f60-8b2e-c7d9e0f1a234' });
  run2.workflowTask();
  const second = await recordBatch(first.state, [e2], 2);
  for (const c of second.calls) run2.activity(c.activityType, c.input, c.result, optionsOf(c.activityType));
  t.is(activityEvents(run2.toJSON()).length, 7);
  await t.notThrowsAsync(replay(real, run2.toJSON()));
});
