/**
 * A Fastify plugin: `GET /metrics` in the Prometheus text format, every request timed into
 * `engram_http_request_duration_seconds` (by route template), and, when tracing is on, a server
 * span per request that continues a caller's W3C `traceparent` and is active inside the handler
 * (the rest of the request's lifecycle, body parsing included, runs in the hook's context).
 * Register it at the root (it is not encapsulated, like fastify-plugin), before or after the routes.
 */
import { context, propagation, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import type { FastifyPluginCallback, FastifyRequest } from 'fastify';
import { enableDefaultMetrics, METRICS_CONTENT_TYPE, metricsText, recordHttp } from './metrics.js';
import { activeTracing } from './tracing.js';

export interface MetricsPluginOptions {
  /** Where the metrics are served (default `/metrics`). */
  readonly path?: string;
  /** Also expose prom-client's process metrics (default true). */
  readonly defaultMetrics?: boolean;
}

/** The server span of each request in flight. */
const spans = new WeakMap<FastifyRequest, Span>();

/** The route template of a request (`/v1/users/:user`), never the raw URL: bounded label values. */
function routeOf(req: FastifyRequest): string {
  return req.routeOptions.url ?? 'unmatched';
}

const plugin: FastifyPluginCallback<MetricsPluginOptions> = (app, opts, done) => {
  const path = opts.path ?? '/metrics';
  if (opts.defaultMetrics ?? true) enableDefaultMetrics();

  app.addHook('onRequest', (req, _reply, next) => {
    const tracing = activeTracing();
    if (!tracing || routeOf(req) === path) return next();
    const parent = propagation.extract(context.active(), req.headers);
    const route = routeOf(req);
    const span = tracing.tracer.startSpan(
      `${req.method} ${route}`,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method, 'http.route': route } },
      parent,
    );
    spans.set(req, span);
    context.with(trace.setSpan(parent, span), next);
  });

  app.addHook('onResponse', (req, reply, next) => {
    recordHttp(req.method, routeOf(req), reply.statusCode, reply.elapsedTime / 1000);
    const span = spans.get(req);
    if (span) {
      spans.delete(req);
      span.setAttribute('http.response.status_code', reply.statusCode);
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
    next();
  });

  app.get(path, async (_req, reply) => reply.header('content-type', METRICS_CONTENT_TYPE).send(await metricsText()));
  done();
};

// Like fastify-plugin: the hooks apply to the whole app, not only inside this plugin's scope.
Object.assign(plugin, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: 'engram-metrics' });

/** The metrics plugin: `app.register(metricsPlugin)` on the root instance. */
export const metricsPlugin = plugin;
