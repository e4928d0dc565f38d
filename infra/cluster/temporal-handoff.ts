/**
 * The ingest bridge's hand-off on the cluster profile: `signalWithStart` on the user's memory
 * workflow (`memory/<tenant>/<user>`), which starts the workflow on its first event and signals it
 * afterwards. The call returns once the server has recorded the signal, so the bridge may then
 * commit its offsets. Also: connecting a Temporal client from the validated config.
 */
import { Client, Connection, type WorkflowIdReusePolicy } from '@temporalio/client';
import { ConfigError, EngramError, ValidationError } from '../../core/errors.js';
import type { PositionedEvent } from '../../core/model.js';
import { scopeOf, workflowIdOf, type Scope } from '../../core/scope.js';
import type { HandOff } from '../../streams/ingest-bridge.js';
import type { Config } from '../config.js';
import { eventsSignal, memoryWorkflow } from '../../workflows/memory-workflow.js';

/** The Temporal server could not be reached or refused a call; retrying later may succeed. */
export class TemporalUnavailableError extends EngramError {
  constructor(message: string, opts: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, { code: 'temporal_unavailable', retriable: true, details: opts.details, cause: opts.cause });
  }
}

export interface TemporalHandOffOptions {
  readonly taskQueue: string;
  readonly batchSize: number;
  /** Forgetting pass interval for newly started workflows (ms; 0 = off). */
  readonly decayIntervalMs?: number;
  readonly workflowIdReusePolicy?: WorkflowIdReusePolicy;
  /** Largest signal payload (JSON bytes, approximate) before events are split over several signals. */
  readonly maxSignalBytes?: number;
}

/** Temporal's payload limit is 2 MB (warning at 512 KB); stay well below both. */
const DEFAULT_MAX_SIGNAL_BYTES = 256 * 1024;

/** Parses `memory/<tenant>/<user>` back into its scope; throws ValidationError otherwise. */
export function scopeOfWorkflowId(workflowId: string): Scope {
  const parts = workflowId.split('/');
  if (parts.length !== 3 || parts[0] !== 'memory') {
    throw new ValidationError(`not a memory workflow id: ${JSON.stringify(workflowId.slice(0, 200))}`, { workflowId });
  }
  return scopeOf(parts[1], parts[2]);
}

/** Splits events into runs whose JSON stays under `maxBytes` (a single larger event goes alone). */
export function chunkEvents(events: readonly PositionedEvent[], maxBytes: number): PositionedEvent[][] {
  const chunks: PositionedEvent[][] = [];
  let current: PositionedEvent[] = [];
  let size = 0;
  for (const e of events) {
    const bytes = Buffer.byteLength(JSON.stringify(e));
    if (current.length > 0 && size + bytes > maxBytes) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(e);
    size += bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** A HandOff that signals (starting if needed) the user's memory workflow on Temporal. */
export function temporalHandOff(client: Client, opts: TemporalHandOffOptions): HandOff {
  const maxBytes = opts.maxSignalBytes ?? DEFAULT_MAX_SIGNAL_BYTES;
  return async (workflowId, events) => {
    if (events.length === 0) return;
    const scope = scopeOfWorkflowId(workflowId);
    for (const e of events) {
      if (workflowIdOf(e.event) !== workflowId) {
        throw new ValidationError(`event ${e.event.eventId} belongs to ${workflowIdOf(e.event)}, not ${workflowId}`, {
          eventId: e.event.eventId,
          workflowId,
        });
      }
    }
    // One signal per chunk, in order: the workflow buffers them in arrival order.
    for (const chunk of chunkEvents(events, maxBytes)) {
      try {
        await client.workflow.signalWithStart(memoryWorkflow, {
          workflowId,
          taskQueue: opts.taskQueue,
          args: [{ tenantId: scope.tenantId, userId: scope.userId, batchSize: opts.batchSize, decayIntervalMs: opts.decayIntervalMs ?? 0 }],
          signal: eventsSignal,
          signalArgs: [chunk],
          ...(opts.workflowIdReusePolicy === undefined ? {} : { workflowIdReusePolicy: opts.workflowIdReusePolicy }),
        });
      } catch (cause) {
        if (cause instanceof EngramError) throw cause;
        const message = cause instanceof Error ? cause.message : String(cause);
        throw new TemporalUnavailableError(`signalWithStart on ${workflowId} failed: ${message}`, {
          cause,
          details: { workflowId, events: chunk.length },
        });
      }
    }
  };
}

/** How long `connectTemporal` waits for the server by default. */
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

/** Connects a Temporal client to the configured address and namespace. */
export async function connectTemporal(config: Config, opts: { connectTimeoutMs?: number } = {}): Promise<Client> {
  const { temporalAddress: address, temporalNamespace: namespace } = config.cluster;
  if (address === undefined) {
    throw new ConfigError('the Temporal client needs ENGRAM_TEMPORAL_ADDRESS (host:port, e.g. localhost:7233)');
  }
  let connection: Connection;
  try {
    connection = await Connection.connect({ address, connectTimeout: opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS });
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new TemporalUnavailableError(`cannot reach Temporal at ${address}: ${message}`, { cause, details: { address } });
  }
  return new Client({ connection, namespace });
}
