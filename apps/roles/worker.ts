/**
 * The Temporal worker role: polls the memory task queue, runs `memoryWorkflow` (bundled from
 * `workflows/`) and the memory activities, and shuts down gracefully (in-flight activities get the
 * grace time, workflow tasks finish) on the abort signal or SIGTERM/SIGINT.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, NativeConnection, Runtime, Worker, type LogLevel, type WorkerOptions } from '@temporalio/worker';
import { IllegalStateError } from '@temporalio/common';
import type { MemoryActivities } from '../../activities/index.js';
import { temporalActivities } from '../../activities/temporal.js';
import { ConfigError } from '../../core/errors.js';
import type { Config } from '../../infra/config.js';
import { TemporalUnavailableError } from '../../infra/cluster/temporal-handoff.js';
import { logger } from '../../infra/observability/logger.js';
import { workerTracingOptions } from '../../infra/observability/temporal-tracing.js';

export interface WorkerRoleOptions {
  readonly config: Config;
  readonly activities: MemoryActivities;
  /** Stops the worker when fired (the role's SIGTERM/SIGINT signal). */
  readonly shutdownSignal?: AbortSignal;
  /** A bundle made ahead of time (`bundleWorkflowCode`); by default `workflows/` is bundled at start. */
  readonly workflowBundle?: { readonly codePath: string } | { readonly code: string };
  /** How long in-flight activities may run after shutdown starts (default 30 s). */
  readonly shutdownGraceTime?: string;
}

/** The workflows entry, next to this file's tree (`.ts` under tsx, `.js` when compiled). */
export function workflowsPath(): string {
  const ts = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));
  return existsSync(ts) ? ts : fileURLToPath(new URL('../../workflows/index.js', import.meta.url));
}

const LOG_LEVELS: Readonly<Record<Config['logLevel'], LogLevel>> = {
  silent: 'ERROR',
  error: 'ERROR',
  warn: 'WARN',
  info: 'INFO',
  debug: 'DEBUG',
};

/**
 * Installs the Temporal runtime with the configured log level, unless one is installed already.
 * With `ownSignals`, the caller handles SIGTERM/SIGINT (through its abort signal), not the runtime.
 */
function installRuntime(config: Config, ownSignals: boolean): void {
  try {
    // The SDK's and Core's log lines go out as the process's JSON lines (pino, with trace ids).
    const log = logger('temporal');
    const sdkLogger = new DefaultLogger(LOG_LEVELS[config.logLevel], ({ level, message, meta }) => {
      const method = level === 'ERROR' ? 'error' : level === 'WARN' ? 'warn' : level === 'INFO' ? 'info' : 'debug';
      log[method](meta ?? {}, message);
    });
    Runtime.install({ logger: sdkLogger, ...(ownSignals ? { shutdownSignals: [] } : {}) });
  } catch (err) {
    // Already installed (by the embedding process, or an earlier worker): keep it.
    if (!(err instanceof IllegalStateError)) throw err;
  }
}

/**
 * Runs the Temporal worker until the abort signal fires; without one, until the Temporal runtime
 * receives SIGTERM/SIGINT (its default shutdown signals).
 */
export async function runWorker(opts: WorkerRoleOptions): Promise<void> {
  const { config } = opts;
  const { temporalAddress: address, temporalNamespace: namespace, temporalTaskQueue: taskQueue } = config.cluster;
  if (address === undefined) {
    throw new ConfigError('the worker needs ENGRAM_TEMPORAL_ADDRESS (host:port, e.g. localhost:7233)');
  }
  if (opts.shutdownSignal?.aborted) return;
  installRuntime(config, opts.shutdownSignal !== undefined);

  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect({ address });
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new TemporalUnavailableError(`cannot reach Temporal at ${address}: ${message}`, { cause, details: { address } });
  }
  const signal = opts.shutdownSignal;
  let stop: (() => void) | undefined;
  try {
    const code: Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> = opts.workflowBundle
      ? { workflowBundle: opts.workflowBundle }
      : { workflowsPath: workflowsPath() };
    const worker = await Worker.create({
      connection,
      namespace,
      taskQueue,
      ...code,
      activities: temporalActivities(opts.activities),
      // OpenTelemetry interceptors and the workflow span sink, only when tracing is on.
      ...workerTracingOptions(),
      shutdownGraceTime: opts.shutdownGraceTime ?? '30s',
    });
    // A runtime installed elsewhere may also shut workers down on SIGTERM/SIGINT: shut down once.
    stop = () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
    };
    signal?.addEventListener('abort', stop, { once: true });
    const running = worker.run();
    // The signal may have fired while the worker was being created.
    if (signal?.aborted) stop();
    await running;
  } finally {
    if (stop) signal?.removeEventListener('abort', stop);
    await connection.close();
  }
}
