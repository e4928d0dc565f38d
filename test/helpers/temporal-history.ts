/**
 * Builds Temporal workflow histories in the proto-JSON form that `temporal workflow show --output
 * json` prints and `Worker.runReplayHistory` accepts, so replay tests need no server. Payloads are
 * encoded by the SDK's default payload converter, as a real client and worker would.
 */
import { defaultPayloadConverter, type ActivityOptions } from '@temporalio/common';
import { payloadToJSON } from '@temporalio/common/lib/proto-utils.js';
import { msToNumber } from '@temporalio/common/lib/time.js';

/** One history event in proto-JSON form. */
export type HistoryEventJSON = Record<string, unknown> & { eventId: string; eventType: string };

/** A history in proto-JSON form. */
export interface HistoryJSON {
  events: HistoryEventJSON[];
}

/** A value as the default data converter encodes it, in proto-JSON form. */
export function payloadJSON(value: unknown): unknown {
  return payloadToJSON(defaultPayloadConverter.toPayload(value));
}

const payloads = (values: readonly unknown[]): { payloads: unknown[] } => ({ payloads: values.map(payloadJSON) });

/** `2m` → `120s`: proto-JSON durations are seconds. */
const seconds = (d: ActivityOptions['startToCloseTimeout']): string => (d === undefined ? '0s' : `${msToNumber(d) / 1000}s`);

export interface HistoryStart {
  readonly workflowType: string;
  readonly taskQueue: string;
  readonly args: readonly unknown[];
  readonly runId?: string;
  /** First event time, ms since epoch; every later event is one second after the previous. */
  readonly startMs?: number;
}

const IDENTITY = 'replay-fixture@engram';

/**
 * What a 1.24 TypeScript worker writes in the first workflow task of a new execution: every core
 * flag it knows (1 activity id/type determinism checks, 2 upsert search attributes on patch,
 * 3 move terminal commands) and the lang flag it used (2 process activation jobs as a single
 * batch, used when an activation carries a signal).
 */
export const SDK_METADATA = { coreUsedFlags: [1, 2, 3], langUsedFlags: [2], sdkName: 'temporal-typescript', sdkVersion: '1.24.0' };

/**
 * Appends events one at a time, keeping the event ids and cross references (scheduled, started,
 * workflow-task-completed ids) consistent, as the server would.
 */
export class HistoryBuilder {
  readonly events: HistoryEventJSON[] = [];
  private lastTaskCompleted = 0;
  private activitySeq = 0;
  private readonly startMs: number;
  private readonly taskQueue: string;

  constructor(start: HistoryStart) {
    this.startMs = start.startMs ?? Date.UTC(2026, 0, 1);
    this.taskQueue = start.taskQueue;
    const runId = start.runId ?? '0b7f1c3e-5d2a-4e8b-9c61-2f4a8d3e7b10';
    this.add('WorkflowExecutionStarted', {
      workflowType: { name: start.workflowType },
      taskQueue: { name: start.taskQueue, kind: 'Normal' },
      input: payloads(start.args),
      workflowExecutionTimeout: '0s',
      workflowRunTimeout: '0s',
      workflowTaskTimeout: '10s',
      originalExecutionRunId: runId,
      firstExecutionRunId: runId,
      identity: IDENTITY,
      attempt: 1,
      firstWorkflowTaskBackoff: '0s',
      header: { fields: {} },
    });
  }

  private add(type: string, attributes: Record<string, unknown>): number {
    const eventId = this.events.length + 1;
    const key = `${type[0]!.toLowerCase()}${type.slice(1)}EventAttributes`;
    this.events.push({
      eventId: String(eventId),
      eventTime: new Date(this.startMs + (eventId - 1) * 1000).toISOString(),
      eventType: type,
      taskId: String(1_048_576 + eventId),
      [key]: attributes,
    });
    return eventId;
  }

  /** A signal delivered to the workflow (signalWithStart delivers one right after the start). */
  signal(signalName: string, args: readonly unknown[]): this {
    this.add('WorkflowExecutionSignaled', { signalName, input: payloads(args), identity: IDENTITY, header: { fields: {} } });
    return this;
  }

  /**
   * A workflow task: scheduled, started and completed (its commands follow as events). With
   * `suggestContinueAsNew` the server tells the workflow its history is getting long.
   */
  workflowTask(opts: { suggestContinueAsNew?: boolean } = {}): this {
    const scheduled = this.add('WorkflowTaskScheduled', {
      taskQueue: { name: this.taskQueue, kind: 'Normal' },
      startToCloseTimeout: '10s',
      attempt: 1,
    });
    const started = this.add('WorkflowTaskStarted', {
      scheduledEventId: String(scheduled),
      identity: IDENTITY,
      requestId: `wft-${scheduled}`,
      ...(opts.suggestContinueAsNew ? { suggestContinueAsNew: true } : {}),
    });
    const first = this.lastTaskCompleted === 0;
    this.lastTaskCompleted = this.add('WorkflowTaskCompleted', {
      scheduledEventId: String(scheduled),
      startedEventId: String(started),
      identity: IDENTITY,
      // A worker records the SDK flags it ran with in its first task; without them the replayer
      // falls back to legacy behaviour (e.g. no activity type/id determinism checks).
      ...(first ? { sdkMetadata: SDK_METADATA } : {}),
    });
    return this;
  }

  /** An activity command of the last workflow task; returns its scheduled event id. */
  scheduleActivity(activityType: string, input: unknown, options: ActivityOptions = {}): number {
    this.activitySeq += 1;
    return this.add('ActivityTaskScheduled', {
      // The TypeScript SDK numbers activities 1, 2, … in the order the workflow schedules them.
      activityId: String(this.activitySeq),
      activityType: { name: activityType },
      taskQueue: { name: options.taskQueue ?? this.taskQueue, kind: 'Normal' },
      header: { fields: {} },
      input: payloads([input]),
      scheduleToCloseTimeout: seconds(options.scheduleToCloseTimeout),
      scheduleToStartTimeout: seconds(options.scheduleToStartTimeout),
      startToCloseTimeout: seconds(options.startToCloseTimeout),
      heartbeatTimeout: seconds(options.heartbeatTimeout),
      workflowTaskCompletedEventId: String(this.lastTaskCompleted),
      retryPolicy: {
        initialInterval: seconds(options.retry?.initialInterval ?? '1s'),
        backoffCoefficient: options.retry?.backoffCoefficient ?? 2,
        maximumInterval: seconds(options.retry?.maximumInterval ?? '100s'),
        maximumAttempts: options.retry?.maximumAttempts ?? 0,
        nonRetryableErrorTypes: [...(options.retry?.nonRetryableErrorTypes ?? [])],
      },
    });
  }

  /** A worker picked the activity up; returns the started event id. */
  startActivity(scheduledEventId: number): number {
    return this.add('ActivityTaskStarted', {
      scheduledEventId: String(scheduledEventId),
      identity: IDENTITY,
      requestId: `act-${scheduledEventId}`,
      attempt: 1,
    });
  }

  /** The activity returned `result`. */
  completeActivity(scheduledEventId: number, startedEventId: number, result: unknown): this {
    this.add('ActivityTaskCompleted', {
      result: payloads([result]),
      scheduledEventId: String(scheduledEventId),
      startedEventId: String(startedEventId),
      identity: IDENTITY,
    });
    return this;
  }

  /** The activity failed for good (retries exhausted or a non-retryable ApplicationFailure). */
  failActivity(scheduledEventId: number, startedEventId: number, failure: { message: string; type: string; nonRetryable: boolean }): this {
    this.add('ActivityTaskFailed', {
      failure: {
        message: failure.message,
        source: 'TypeScriptSDK',
        applicationFailureInfo: { type: failure.type, nonRetryable: failure.nonRetryable },
      },
      scheduledEventId: String(scheduledEventId),
      startedEventId: String(startedEventId),
      identity: IDENTITY,
      retryState: failure.nonRetryable ? 'NonRetryableFailure' : 'MaximumAttemptsReached',
    });
    return this;
  }

  /** The last workflow task's continue-as-new command: the run ends, a new one starts with `args`. */
  continuedAsNew(workflowType: string, args: readonly unknown[], newRunId = '5a1e2b7c-93d4-4f60-8b2e-c7d9e0f1a234'): this {
    this.add('WorkflowExecutionContinuedAsNew', {
      newExecutionRunId: newRunId,
      workflowType: { name: workflowType },
      taskQueue: { name: this.taskQueue, kind: 'Normal' },
      input: payloads(args),
      workflowRunTimeout: '0s',
      workflowTaskTimeout: '10s',
      workflowTaskCompletedEventId: String(this.lastTaskCompleted),
      initiator: 'Workflow',
      header: { fields: {} },
    });
    return this;
  }

  /** Scheduled by the last workflow task, started, completed, then the workflow task that follows. */
  activity(activityType: string, input: unknown, result: unknown, options: ActivityOptions = {}): this {
    const scheduled = this.scheduleActivity(activityType, input, options);
    const started = this.startActivity(scheduled);
    return this.completeActivity(scheduled, started, result).workflowTask();
  }

  /** The history so far. */
  toJSON(): HistoryJSON {
    return { events: this.events.map((e) => structuredClone(e)) };
  }
}

/** One activity call of a recorded batch. */
export interface RecordedCall {
  readonly activityType: string;
  readonly input: unknown;
  readonly result: unknown;
}

/**
 * Wraps activity implementations so that every call is recorded in order, with its input and its
 * result as plain JSON (what Temporal would store): run an orchestration over the wrapper, then
 * turn the calls into history events.
 */
export function recording<A extends Record<string, (input: never) => Promise<unknown>>>(acts: A): { acts: A; calls: RecordedCall[] } {
  const calls: RecordedCall[] = [];
  const wrapped: Record<string, (input: never) => Promise<unknown>> = {};
  for (const [name, fn] of Object.entries(acts)) {
    wrapped[name] = async (input: never) => {
      const result: unknown = JSON.parse(JSON.stringify(await fn(input)) ?? 'null');
      calls.push({ activityType: name, input: JSON.parse(JSON.stringify(input)) as unknown, result });
      return result;
    };
  }
  // Same keys, same call signatures: only the bodies differ.
  return { acts: wrapped as A, calls };
}
