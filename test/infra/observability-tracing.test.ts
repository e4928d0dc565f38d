/**
 * OpenTelemetry tracing on the embedded engine, recorded with an in-memory exporter: off by default
 * (no provider, `withSpan` a plain call); when on, one trace runs from the HTTP request through
 * publish, the bridge's hand-off, the workflow batch and each activity, to the projections of the
 * events the batch committed, with parent/child links between them.
 */
import { trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import test from 'ava';
import Fastify from 'fastify';
import type { Engine } from '../../apps/engine.js';
import type { ConversationEvent } from '../../core/model.js';
import { loadConfig } from '../../infra/config.js';
import { metricsPlugin } from '../../infra/observability/metrics-plugin.js';
import { startObservability } from '../../infra/observability/setup.js';
import { v2SpanOf, workerTracingOptions } from '../../infra/observability/temporal-tracing.js';
import { initTracing, shutdownTracing, tracingEnabled, withSpan } from '../../infra/observability/tracing.js';
import { openTestEngine, removeDir, tempDir } from '../helpers/engine.js';

const T0 = Date.UTC(2024, 4, 1, 10);
const STAGES = ['extract', 'embed', 'associate', 'consolidate', 'resolveConflicts', 'guard', 'commit'];
const PROJECTIONS = ['memory-store', 'vector-index', 'memory-graph'];

const post = (userId: string, n: number, text: string): ConversationEvent => ({
  eventId: `${userId}-e${n}`,
  tenantId: 'obs-trace',
  userId,
  conversationId: 'c1',
  sessionId: 's1',
  occurredAt: T0 + n * 60_000,
  payload: { type: 'MessagePosted', messageId: `${userId}-m${n}`, role: 'user', speaker: userId, text, attachmentCaptions: [] },
});

const parentOf = (s: ReadableSpan): string | undefined => s.parentSpanContext?.spanId;
const idOf = (s: ReadableSpan): string => s.spanContext().spanId;

const dirs: string[] = [];
const engines: Engine[] = [];

test.after.always(async () => {
  await shutdownTracing();
  for (const e of engines) await e.close();
  for (const d of dirs) removeDir(d);
});

test.serial('tracing is off by default: no provider, withSpan is a plain call, no spans', async (t) => {
  const dir = tempDir();
  dirs.push(dir);
  const obs = await startObservability(loadConfig({}, { dataDir: dir }), 'test');
  t.false(obs.tracing);
  t.false(tracingEnabled());
  await obs.close();
  let active: unknown = 'unset';
  const result = await withSpan('engram.test', {}, async () => {
    active = trace.getActiveSpan();
    return 42;
  });
  t.is(result, 42);
  t.is(active, undefined);
  // The API's global provider is the no-op one: spans started through it record nothing.
  const span = trace.getTracer('probe').startSpan('probe');
  t.false(span.isRecording());
  span.end();
  t.deepEqual(workerTracingOptions(), {});
});

test.serial('one trace: publish → hand-off → workflow batch → activities → projections', async (t) => {
  const exporter = new InMemorySpanExporter();
  t.true(initTracing({ exporter }));
  t.true(tracingEnabled());
  const dir = tempDir();
  dirs.push(dir);
  const engine = await openTestEngine(dir);
  engines.push(engine);
  await engine.publish([post('erin', 1, 'My name is Erin and I live in Oslo.'), post('erin', 2, 'I play the cello in an orchestra.')]);
  await engine.runUntilIdle();

  const spans = exporter.getFinishedSpans();
  const named = (name: string): ReadableSpan[] => spans.filter((s) => s.name === name);
  const [publish] = named('engram.publish');
  const [handoff] = named('engram.ingest.handoff');
  const [batch] = named('engram.workflow.batch');
  if (!publish || !handoff || !batch) return t.fail(`missing spans: ${spans.map((s) => s.name).join(', ')}`);
  const traceId = publish.spanContext().traceId;
  t.is(parentOf(publish), undefined, 'publish starts the trace');
  t.is(parentOf(handoff), idOf(publish));
  t.is(parentOf(batch), idOf(handoff));
  t.is(batch.attributes['engram.workflow_id'], 'memory/obs-trace/erin');
  for (const stage of STAGES) {
    const [activity] = named(`engram.activity.${stage}`);
    if (!activity) return t.fail(`no span for ${stage}`);
    t.is(parentOf(activity), idOf(batch), stage);
    t.is(activity.spanContext().traceId, traceId, stage);
    // Every scoped activity names its tenant (embed takes candidates only).
    if (stage !== 'embed') t.is(activity.attributes['engram.tenant'], 'obs-trace', stage);
  }
  const commit = named('engram.activity.commit')[0] as ReadableSpan;
  for (const name of PROJECTIONS) {
    const applied = named('engram.projection.apply').filter((s) => s.attributes['engram.projection'] === name && (s.attributes['engram.events'] as number) > 0);
    t.true(applied.length > 0, name);
    for (const s of applied) {
      t.is(parentOf(s), idOf(commit), `${name} continues the committing batch`);
      t.is(s.spanContext().traceId, traceId);
    }
  }
});

test.serial('an HTTP request continues the caller’s traceparent into publish and the batch', async (t) => {
  const exporter = new InMemorySpanExporter();
  await shutdownTracing();
  initTracing({ exporter });
  const dir = tempDir();
  dirs.push(dir);
  const engine = await openTestEngine(dir);
  engines.push(engine);
  const app = Fastify();
  await app.register(metricsPlugin, { defaultMetrics: false });
  app.post('/v1/events', async (req, reply) => {
    const positions = await engine.publish(req.body as ConversationEvent[]);
    return reply.status(202).send({ accepted: positions.length });
  });
  const callerTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
  const callerSpan = '00f067aa0ba902b7';
  // Over a real socket: the body arrives in stream events after the onRequest hook has run.
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const res = await fetch(`${url}/v1/events`, {
    method: 'POST',
    headers: { traceparent: `00-${callerTrace}-${callerSpan}-01`, 'content-type': 'application/json' },
    body: JSON.stringify([post('finn', 1, 'I am a carpenter from Bergen.')]),
    signal: AbortSignal.timeout(10_000),
  });
  t.is(res.status, 202);
  await engine.runUntilIdle();
  await app.close();

  const spans = exporter.getFinishedSpans();
  const server = spans.find((s) => s.name === 'POST /v1/events');
  const publish = spans.find((s) => s.name === 'engram.publish');
  const batch = spans.find((s) => s.name === 'engram.workflow.batch');
  if (!server || !publish || !batch) return t.fail(`missing spans: ${spans.map((s) => s.name).join(', ')}`);
  t.is(server.spanContext().traceId, callerTrace);
  t.is(parentOf(server), callerSpan);
  t.is(server.attributes['http.response.status_code'], 202);
  t.is(parentOf(publish), idOf(server), 'the handler runs inside the server span (body parsed first)');
  t.is(batch.spanContext().traceId, callerTrace);
  t.false(spans.some((s) => s.name.includes('/metrics')));
});

test.serial('workflow spans from the Temporal sink are converted to SDK 2 shape, parent kept', (t) => {
  const sc = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 1 };
  const v1 = {
    name: 'RunWorkflow:memoryWorkflow',
    spanContext: () => sc,
    parentSpanId: 'c'.repeat(16),
    instrumentationLibrary: { name: '@temporalio/interceptor-workflow', version: '1.24.0' },
  } as unknown as Parameters<typeof v2SpanOf>[0];
  const v2 = v2SpanOf(v1);
  t.deepEqual(v2.parentSpanContext, { traceId: sc.traceId, spanId: 'c'.repeat(16), traceFlags: 1, isRemote: false });
  t.deepEqual(v2.instrumentationScope, { name: '@temporalio/interceptor-workflow', version: '1.24.0' });
  t.is(v2.spanContext(), sc);
  t.is(v2.name, 'RunWorkflow:memoryWorkflow');
  // Tracing on: the worker gets the activity interceptors, the workflow module and the sink.
  const opts = workerTracingOptions();
  t.is(opts.interceptors?.activity?.length, 1);
  t.regex(opts.interceptors?.workflowModules?.[0] ?? '', /interceptors-opentelemetry\/lib\/workflow-interceptors/);
  t.truthy(opts.sinks?.exporter);
});
