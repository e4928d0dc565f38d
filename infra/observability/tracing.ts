/**
 * OpenTelemetry tracing, off unless configured (ENGRAM_OTEL_ENDPOINT): a NodeTracerProvider that
 * exports over OTLP/HTTP, `withSpan` for code that wants a span (a plain call while tracing is off),
 * and an in-process hand-over of span contexts, so that work decoupled by a log (publish → workflow
 * batch → projection) still joins one trace on the embedded profile.
 */
import { context, propagation, SpanStatusCode, trace, type Attributes, type Context, type Link, type SpanContext, type SpanOptions, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, SimpleSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ConfigError } from '../../core/errors.js';

export interface TracingOptions {
  /** OTLP/HTTP collector base URL (`/v1/traces` is appended unless present). */
  readonly endpoint?: string;
  /** An exporter to use instead of OTLP (tests pass an InMemorySpanExporter). */
  readonly exporter?: SpanExporter;
  /** `service.name` of the spans (default `engram`). */
  readonly serviceName?: string;
  /** Batch spans before export (default: true for OTLP, false for a given exporter). */
  readonly batch?: boolean;
}

/** What the Temporal worker needs to export workflow spans through the same pipeline. */
export interface ActiveTracing {
  readonly provider: NodeTracerProvider;
  readonly processor: SpanProcessor;
  readonly resource: Resource;
  readonly tracer: Tracer;
}

const TRACER_NAME = 'engram';
/** Span contexts kept for hand-over; the oldest are dropped beyond this. */
const HANDOVER_LIMIT = 50_000;
/** Links a span carries to the other contexts it continues (beyond the parent). */
const MAX_LINKS = 32;

let active: ActiveTracing | null = null;
const handovers = new Map<string, SpanContext>();

/** The OTLP/HTTP traces URL for a collector base URL (as OTEL_EXPORTER_OTLP_ENDPOINT is read). */
export function otlpTracesUrl(endpoint: string): string {
  const base = endpoint.replace(/\/+$/, '');
  return base.endsWith('/v1/traces') ? base : `${base}/v1/traces`;
}

/**
 * Registers a tracer provider globally when an endpoint or an exporter is given; without either,
 * tracing stays off (no provider, no context manager) and this returns false.
 */
export function initTracing(opts: TracingOptions = {}): boolean {
  if (opts.endpoint === undefined && opts.exporter === undefined) return false;
  if (active) throw new ConfigError('tracing is already initialised in this process (call shutdownTracing first)');
  const exporter = opts.exporter ?? new OTLPTraceExporter({ url: otlpTracesUrl(opts.endpoint as string) });
  const batch = opts.batch ?? opts.exporter === undefined;
  const processor = batch ? new BatchSpanProcessor(exporter) : new SimpleSpanProcessor(exporter);
  const resource = resourceFromAttributes({ 'service.name': opts.serviceName ?? 'engram' });
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  // Installs the AsyncLocalStorage context manager and the W3C trace-context propagator.
  provider.register();
  active = { provider, processor, resource, tracer: provider.getTracer(TRACER_NAME) };
  return true;
}

/** Flushes and removes the provider; tracing is off again afterwards. */
export async function shutdownTracing(): Promise<void> {
  const current = active;
  active = null;
  handovers.clear();
  if (!current) return;
  try {
    await current.provider.shutdown();
  } finally {
    trace.disable();
    context.disable();
    propagation.disable();
  }
}

/** True while a tracer provider is registered by initTracing. */
export function tracingEnabled(): boolean {
  return active !== null;
}

/** The registered provider, its processor and resource, or null when tracing is off. */
export function activeTracing(): ActiveTracing | null {
  return active;
}

/** Runs `fn` in a new active span under `parent`, recording a thrown error on the span. */
function runInSpan<T>(tracer: Tracer, name: string, options: SpanOptions, parent: Context, fn: () => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, options, parent, async (span) => {
    try {
      return await fn();
    } catch (err) {
      span.recordException(err instanceof Error ? err : String(err));
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Runs `fn` inside a span named `name` (a child of the active one); a plain call when tracing is off. */
export function withSpan<T>(name: string, attrs: Attributes, fn: () => Promise<T>): Promise<T> {
  if (!active) return fn();
  return runInSpan(active.tracer, name, { attributes: attrs }, context.active(), fn);
}

/** Sets attributes on the active span (no-op when tracing is off or no span is active). */
export function setSpanAttributes(attrs: Attributes): void {
  if (!active) return;
  trace.getActiveSpan()?.setAttributes(attrs);
}

/**
 * Remembers the active span under `keys` (event ids, log positions), so that the work those keys
 * lead to later, elsewhere in the process, continues its trace. `keys` is only evaluated when on.
 */
export function handOver(keys: () => Iterable<string>): void {
  if (!active) return;
  const span = trace.getActiveSpan();
  if (!span) return;
  const sc = span.spanContext();
  for (const key of keys()) {
    handovers.delete(key);
    handovers.set(key, sc);
  }
  // A Map iterates in insertion order: the first keys are the oldest.
  for (const key of handovers.keys()) {
    if (handovers.size <= HANDOVER_LIMIT) break;
    handovers.delete(key);
  }
}

/**
 * Runs `fn` in a span that continues the spans handed over under `keys`: the first found is the
 * parent, the others are links. Without any, the span is a child of the active one.
 */
export function withSpanFrom<T>(name: string, attrs: Attributes, keys: () => Iterable<string>, fn: () => Promise<T>): Promise<T> {
  if (!active) return fn();
  const found = new Map<string, SpanContext>();
  for (const key of keys()) {
    const sc = handovers.get(key);
    if (sc && !found.has(sc.spanId)) found.set(sc.spanId, sc);
  }
  const [parent, ...rest] = found.values();
  if (!parent) return runInSpan(active.tracer, name, { attributes: attrs }, context.active(), fn);
  const links: Link[] = rest.slice(0, MAX_LINKS).map((sc) => ({ context: sc }));
  return runInSpan(active.tracer, name, { attributes: attrs, links }, trace.setSpanContext(context.active(), parent), fn);
}
