/**
 * Structured logs: one JSON object per line with a level label, an ISO time and the message; the
 * trace and span ids of the active span inside one (none outside); the configured level honoured,
 * children tagged with their component.
 */
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import test from 'ava';
import { loadConfig } from '../../infra/config.js';
import { configureLogging, createLogger, logger } from '../../infra/observability/logger.js';
import { initTracing, shutdownTracing, withSpan } from '../../infra/observability/tracing.js';

/** A destination that keeps every line written. */
function capture(): { lines: () => Record<string, unknown>[]; write: (s: string) => void } {
  const raw: string[] = [];
  return {
    write: (s: string) => {
      raw.push(s);
    },
    lines: () => raw.join('').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

test.after.always(async () => {
  await shutdownTracing();
});

test.serial('lines are JSON with level label, ISO time and message; no trace ids outside a span', (t) => {
  const out = capture();
  const log = createLogger({ destination: out });
  log.info({ events: 3 }, 'published');
  const [line] = out.lines();
  if (!line) return t.fail('no line');
  t.is(line.level, 'info');
  t.is(line.msg, 'published');
  t.is(line.events, 3);
  t.is(line.name, 'engram');
  t.false(Number.isNaN(Date.parse(String(line.time))));
  t.false('traceId' in line);
  t.false('spanId' in line);
});

test.serial('inside a span, every line (children too) carries its traceId and spanId', async (t) => {
  t.true(initTracing({ exporter: new InMemorySpanExporter() }));
  const out = capture();
  const log = createLogger({ destination: out });
  let ids: { traceId: string; spanId: string } | undefined;
  await withSpan('engram.test', {}, async () => {
    const sc = trace.getActiveSpan()?.spanContext();
    ids = sc && { traceId: sc.traceId, spanId: sc.spanId };
    log.info('inside');
    log.child({ component: 'bridge' }).warn('child inside');
  });
  log.info('after');
  const [inside, child, after] = out.lines();
  if (!ids || !inside || !child || !after) return t.fail('missing lines or span');
  t.regex(ids.traceId, /^[0-9a-f]{32}$/);
  t.is(inside.traceId, ids.traceId);
  t.is(inside.spanId, ids.spanId);
  t.is(child.traceId, ids.traceId);
  t.is(child.component, 'bridge');
  t.is(child.level, 'warn');
  t.false('traceId' in after, 'the span ended: no ids');
});

test.serial('the configured level is honoured; logger(component) is a tagged child of the root', (t) => {
  const quiet = capture();
  const warnOnly = createLogger({ level: 'warn', destination: quiet });
  warnOnly.info('dropped');
  warnOnly.error('kept');
  t.deepEqual(quiet.lines().map((l) => l.msg), ['kept']);

  const out = capture();
  configureLogging(loadConfig({ ENGRAM_LOG_LEVEL: 'debug' }, { dataDir: '/tmp/engram-logger-test' }), out);
  logger('worker').debug('polling');
  logger().info('root');
  const [debug, root] = out.lines();
  t.is(debug?.level, 'debug');
  t.is(debug?.component, 'worker');
  t.is(root?.msg, 'root');
  t.false(root !== undefined && 'component' in root);

  const silent = capture();
  configureLogging(loadConfig({ ENGRAM_LOG_LEVEL: 'silent' }, { dataDir: '/tmp/engram-logger-test' }), silent);
  logger().error('nothing');
  t.deepEqual(silent.lines(), []);
});
