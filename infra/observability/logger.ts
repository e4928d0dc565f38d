/**
 * Structured logs: pino JSON lines at the configured level (ENGRAM_LOG_LEVEL), each carrying the
 * `traceId` and `spanId` of the OpenTelemetry span active when the line is written, so a log line
 * leads to its trace.
 */
import { isSpanContextValid, trace } from '@opentelemetry/api';
import { pino, type DestinationStream, type Logger } from 'pino';
import type { Config } from '../config.js';

export type { Logger };

export interface LoggerOptions {
  readonly level?: Config['logLevel'];
  /** Logger name (the `name` field); default `engram`. */
  readonly name?: string;
  /** Where lines go (default: stdout). */
  readonly destination?: DestinationStream;
}

/** The active span's ids, or nothing outside a (valid) span. */
export function traceFields(): { traceId?: string; spanId?: string } {
  const sc = trace.getActiveSpan()?.spanContext();
  return sc && isSpanContextValid(sc) ? { traceId: sc.traceId, spanId: sc.spanId } : {};
}

/** A pino logger writing JSON lines with level labels, ISO times and trace ids. */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const options = {
    level: opts.level ?? 'info',
    name: opts.name ?? 'engram',
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    // Called for every line (children included): the span active at write time, not at creation.
    mixin: traceFields,
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

let root: Logger | null = null;

/** Sets the process's root logger from the config (the roles and `engram serve` call it once). */
export function configureLogging(config: Pick<Config, 'logLevel'>, destination?: DestinationStream): Logger {
  root = createLogger({ level: config.logLevel, ...(destination ? { destination } : {}) });
  return root;
}

/** The root logger (info level until configured), or a child tagged with `component`. */
export function logger(component?: string): Logger {
  root ??= createLogger();
  return component === undefined ? root : root.child({ component });
}
