/**
 * Observability for one process, from the config: the root logger at ENGRAM_LOG_LEVEL, tracing when
 * ENGRAM_OTEL_ENDPOINT is set (service `engram-<role>`), and a standalone `/metrics` listener when
 * ENGRAM_METRICS_PORT is set. `engram serve` and every cluster role start it once.
 */
import type { Config } from '../config.js';
import { configureLogging, type Logger } from './logger.js';
import { startMetricsServer, type MetricsServer } from './metrics-server.js';
import { initTracing, shutdownTracing, tracingEnabled } from './tracing.js';

export interface Observability {
  readonly logger: Logger;
  /** True when this call turned tracing on. */
  readonly tracing: boolean;
  /** The standalone metrics URL, when one was started. */
  readonly metricsUrl: string | null;
  /** Stops the metrics listener and flushes spans (only what this call started). */
  close(): Promise<void>;
}

/** Starts logging, tracing and the metrics listener as configured. */
export async function startObservability(config: Config, role: string, opts: { metricsServer?: boolean } = {}): Promise<Observability> {
  const log = configureLogging(config);
  // An embedding process (or a test) may have set tracing up already: keep its provider.
  const tracing = !tracingEnabled() && initTracing({ ...(config.otelEndpoint ? { endpoint: config.otelEndpoint } : {}), serviceName: `engram-${role}` });
  let server: MetricsServer | null = null;
  try {
    if (config.metricsPort !== undefined && opts.metricsServer !== false) server = await startMetricsServer(config.metricsPort, config.host);
  } catch (err) {
    if (tracing) await shutdownTracing();
    throw err;
  }
  if (tracing) log.info({ endpoint: config.otelEndpoint }, `engram ${role}: exporting traces over OTLP/HTTP`);
  if (server) log.info({ url: server.url }, `engram ${role}: metrics at ${server.url}`);
  return {
    logger: log,
    tracing,
    metricsUrl: server?.url ?? null,
    async close() {
      await server?.close();
      if (tracing) await shutdownTracing();
    },
  };
}
