/**
 * Trace propagation on the cluster profile through Temporal's OpenTelemetry interceptors, only while
 * tracing is on: the client interceptor puts the hand-off's span into signalWithStart's headers, the
 * workflow interceptors (bundled into the workflow code) continue it and pass it to the activities,
 * and the activity interceptor makes it the parent of the activity spans. Workflow spans leave the
 * sandbox through a sink into this process's span processor.
 */
import { createRequire } from 'node:module';
import type { SpanContext } from '@opentelemetry/api';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Client } from '@temporalio/client';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry/lib/client/index.js';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry/lib/worker/index.js';
import type { WorkerOptions } from '@temporalio/worker';
import { activeTracing } from './tracing.js';

const require = createRequire(import.meta.url);

/** The module `bundleWorkflowCode` must include (`workflowInterceptorModules`) for workflow spans. */
export function workflowTracingModule(): string {
  return require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');
}

/** A span as the workflow sink rebuilds it: OpenTelemetry SDK 1.x field names. */
type V1Span = ReadableSpan & { readonly parentSpanId?: string; readonly instrumentationLibrary?: ReadableSpan['instrumentationScope'] };

/**
 * Workflow spans are serialised by the interceptors' own SDK 1.x (`parentSpanId`,
 * `instrumentationLibrary`); this process exports with SDK 2.x (`parentSpanContext`,
 * `instrumentationScope`). Converts the former to the latter so parent links survive export.
 */
export function v2SpanOf(span: V1Span): ReadableSpan {
  if (span.instrumentationScope !== undefined) return span;
  const sc = span.spanContext();
  const parentSpanContext: SpanContext | undefined =
    span.parentSpanId === undefined ? undefined : { traceId: sc.traceId, spanId: span.parentSpanId, traceFlags: sc.traceFlags, isRemote: false };
  return {
    ...span,
    spanContext: () => sc,
    parentSpanContext,
    instrumentationScope: span.instrumentationLibrary ?? { name: '@temporalio/interceptor-workflow' },
  };
}

/** A processor that converts workflow spans, then hands them to the process's own (which it does not own). */
function workflowSpanProcessor(target: SpanProcessor): SpanProcessor {
  return {
    onStart: () => undefined,
    onEnd: (span) => target.onEnd(v2SpanOf(span as V1Span)),
    forceFlush: () => target.forceFlush(),
    // The tracer provider shuts the real processor down.
    shutdown: () => Promise.resolve(),
  };
}

/**
 * Worker options adding the OpenTelemetry interceptors and the workflow span sink; empty while
 * tracing is off. With a prebuilt `workflowBundle`, bundle `workflowTracingModule()` into it.
 */
export function workerTracingOptions(): Pick<WorkerOptions, 'interceptors' | 'sinks'> {
  const tracing = activeTracing();
  if (!tracing) return {};
  return {
    interceptors: {
      activity: [(ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) })],
      workflowModules: [workflowTracingModule()],
    },
    sinks: {
      // The interceptors' types are SDK 1.x; the objects are duck-typed at run time (converted above).
      exporter: makeWorkflowExporter(workflowSpanProcessor(tracing.processor) as never, tracing.resource as never),
    },
  };
}

/** The client with the workflow-client interceptor (same connection and namespace); as is while tracing is off. */
export function tracedClient(client: Client): Client {
  if (!activeTracing()) return client;
  return new Client({
    connection: client.connection,
    namespace: client.options.namespace,
    interceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] },
  });
}
